#!/usr/bin/env node
// node bench/probe.mjs: the production-shaped worker's CPU per request, endpoint by endpoint, with
// nothing else measured: the production entry on Miniflare (bench/lib/miniflare.mjs), its D1 and
// KV in a workerd of their own, its WeChat the fake in another. For looking at one change at a
// time; `npm run bench` is the comparison with the peer.
//
// This machine's speed drifts by 20% and more between runs (the same work of the WeChat fake
// costs that much more or less), so a change is judged against its base in the same run:
// PROBE_BASE=<git revision> serves that revision too, beside the working tree, each with its own
// storage, and the rounds alternate between the two. The paired ratio of each round (tree ÷ base)
// is what to read.
//
// Environment: PROBE_COUNT operations of each kind per round (default 1000; a third of it for
// exchange and login), PROBE_CONCURRENCY (default 4), PROBE_REPEAT rounds (default 5, after one
// round of warm-up), PROBE_ONLY (comma-separated kinds; "login steps" is the login's CPU request
// by request, at concurrency 1, asked for by name only), PROBE_BASE.
import { execFileSync } from 'node:child_process';
import { BridgeSide, TOKEN_EXCHANGE } from './lib/flows.mjs';
import { Jar } from './lib/http.mjs';
import { prepareDirect, startDirect, startStorage, startWeChat } from './lib/miniflare.mjs';
import { runPhase } from './lib/load.mjs';
import { cpuMs, killAllNow, root, snapshotProject } from './lib/servers.mjs';

const count = Number(process.env.PROBE_COUNT || 1000);
const concurrency = Number(process.env.PROBE_CONCURRENCY || 4);
const only = process.env.PROBE_ONLY?.split(',');
const repeat = Number(process.env.PROBE_REPEAT || 5);
const base = process.env.PROBE_BASE;
const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

const cleanup = [];
const servers = [];
const watchdog = setTimeout(() => (killAllNow(), process.exit(124)), 1_200_000);

/** The working tree, and PROBE_BASE checked out beside it (git archive), each as the bench snapshots it. */
function trees() {
  const list = [{ name: 'tree', snapshot: snapshotProject() }];
  if (base) {
    const from = snapshotProject();
    execFileSync('sh', ['-c', `rm -rf src migrations && git -C "${root}" archive "${base}" src migrations | tar -x -C "${from.dir}"`], { cwd: from.dir });
    list.push({ name: `base ${base}`, snapshot: from });
  }
  for (const { snapshot } of list) cleanup.push(() => snapshot.remove());
  return list;
}

/** One tree served: bundle, storage, worker, a registered client and a logged-in user per worker of the load. */
async function serve(tree, prepared, wechat) {
  const state = prepared.newState();
  const storage = await startStorage(prepared, state, { migrate: true, projectDir: tree.snapshot.dir });
  servers.push(storage);
  const server = await startDirect(prepared, state, { wechat, storage, projectDir: tree.snapshot.dir });
  servers.push(server);
  const side = await BridgeSide.create(server, { grantTypes: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE] });
  const http = side.http(concurrency);
  const identity = (w) => ({ openid: `oprobe${w}`, unionid: `uprobe${w}` });
  const tokens = [];
  for (let w = 0; w < concurrency; w += 1) tokens[w] = await side.login(http, identity(w));
  const ops = {
    'not found': async () => void (await http.get('/nothing-here')),
    discovery: () => side.discovery(http),
    jwks: () => side.jwks(http),
    userinfo: (w) => side.userinfo(http, tokens[w]),
    refresh: async (w) => void (tokens[w] = await side.refresh(http, tokens[w])),
    exchange: (w) => side.appLogin(http, identity(w)),
    login: async (w) => void (tokens[w] = await side.login(http, identity(w))),
  };
  /** The login's requests one by one, each step's CPU of the worker summed (concurrency 1: nothing else runs meanwhile). */
  const stepCpu = {};
  const stepped = async (w) => {
    const step = async (name, fn) => {
      const before = cpuMs(server.pid);
      const result = await fn();
      stepCpu[name] = (stepCpu[name] ?? 0) + cpuMs(server.pid) - before;
      return result;
    };
    const jar = new Jar({ paths: true });
    const { query, verifier, state, nonce } = side.authorizeQuery();
    const started = await step('GET /authorize (the login page)', () => http.get(`${side.paths.authorize}?${query}`, { jar }));
    const loginId = /data-login-session="([A-Za-z0-9_-]+)"/.exec(started.body)?.[1];
    const minted = await side.mint(http, 'miniprogram', identity(w));
    await step('POST /wechat/handoff (approval)', () => http.postJson('/wechat/handoff', { login: loginId, code: minted.code, appid: minted.appid }));
    const back = await step('GET /login/<id>/continue', () => http.get(`/login/${loginId}/continue`, { jar }));
    tokens[w] = await step('POST /token (code redemption)', () => side.redeem(http, back.headers.location, verifier, state, nonce));
  };
  ops['login steps'] = stepped;
  const stepsOf = () => stepCpu;
  cleanup.push(() => (http.close(), side.close()));
  return { ...tree, ops, stepsOf, pids: { worker: server.pid, storage: storage.pid } };
}

try {
  const list = trees();
  const prepared = [];
  for (const tree of list) {
    prepared.push(await prepareDirect(tree.snapshot.dir));
    const made = prepared.at(-1);
    cleanup.push(() => made.remove());
  }
  // One set of secrets and WeChat apps for all: the WeChat fake knows these apps.
  for (const other of prepared.slice(1)) other.vars = prepared[0].vars;
  const wechat = await startWeChat(prepared[0], { projectDir: list[0].snapshot.dir });
  servers.push(wechat);
  const served = [];
  for (const [i, tree] of list.entries()) served.push(await serve(tree, prepared[i], wechat));
  const kinds = Object.keys(served[0].ops).filter((name) => (only ? only.includes(name) : name !== 'login steps'));
  const results = Object.fromEntries(kinds.map((kind) => [kind, served.map(() => [])]));
  for (let round = -1; round < repeat; round += 1) {
    for (const kind of kinds) {
      const n = ['login', 'login steps', 'exchange'].includes(kind) ? Math.ceil(count / 3) : count;
      // Alternate which tree goes first.
      const order = served.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const { ops, pids } = served[i];
        const before = { worker: cpuMs(pids.worker), storage: cpuMs(pids.storage), fake: cpuMs(wechat.pid) };
        const phase = await runPhase({ concurrency: kind === 'login steps' ? 1 : concurrency, count: n, maxMs: 120_000, op: ops[kind] });
        if (phase.errors.length) throw new Error(`${served[i].name} ${kind}: ${phase.errors[0]}`);
        if (round < 0) continue; // warm-up
        results[kind][i].push({
          worker: (cpuMs(pids.worker) - before.worker) / n,
          storage: (cpuMs(pids.storage) - before.storage) / n,
          fake: (cpuMs(wechat.pid) - before.fake) / n,
          rps: n / phase.seconds,
        });
      }
    }
  }
  for (const kind of kinds) {
    served.forEach((tree, i) => {
      const all = results[kind][i];
      const pick = (key) => median(all.map((r) => r[key]));
      console.log(
        `${kind.padEnd(10)} ${tree.name.padEnd(14)} worker ${pick('worker').toFixed(3)} ms/op (rounds ${all.map((r) => r.worker.toFixed(2)).join(' ')})   storage ${pick('storage').toFixed(3)}   WeChat fake ${pick('fake').toFixed(3)}   ${pick('rps').toFixed(0)} op/s`,
      );
    });
    if (kind === 'login steps') {
      served.forEach((tree) => {
        const total = (repeat + 1) * Math.ceil(count / 3);
        for (const [step, ms] of Object.entries(tree.stepsOf())) console.log(`  ${tree.name.padEnd(14)} ${step.padEnd(36)} ${(ms / total).toFixed(3)} ms/op`);
      });
    }
    if (served.length === 2) {
      const ratios = results[kind][0].map((r, round) => r.worker / results[kind][1][round].worker);
      console.log(`${kind.padEnd(10)} tree ÷ base: worker CPU ${median(ratios).toFixed(3)} (rounds ${ratios.map((r) => r.toFixed(2)).join(' ')})`);
    }
  }
} finally {
  for (const server of servers.reverse()) await server.stop();
  for (const step of cleanup.reverse()) step();
  clearTimeout(watchdog);
}
process.exit(0);
