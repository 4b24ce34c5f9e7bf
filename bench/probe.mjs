#!/usr/bin/env node
// node bench/probe.mjs: the production-shaped worker's CPU per request, endpoint by endpoint, with
// nothing else measured: the production entry on Miniflare (bench/lib/miniflare.mjs), its D1 and
// KV in a workerd of their own, its WeChat the fake in a third; PROBE_COUNT operations of each kind
// (default 1000) at PROBE_CONCURRENCY (default 4), CPU from /proc of the worker's workerd alone;
// PROBE_REPEAT rounds (default 3) over all the kinds, and the median round of each is printed.
// For looking at one change at a time; `npm run bench` is the comparison with the peer.
import { BridgeSide, TOKEN_EXCHANGE } from './lib/flows.mjs';
import { prepareDirect, startDirect, startStorage, startWeChat } from './lib/miniflare.mjs';
import { runPhase } from './lib/load.mjs';
import { cpuMs, killAllNow, snapshotProject } from './lib/servers.mjs';

const count = Number(process.env.PROBE_COUNT || 1000);
const concurrency = Number(process.env.PROBE_CONCURRENCY || 4);
const only = process.env.PROBE_ONLY?.split(',');
const repeat = Number(process.env.PROBE_REPEAT || 3);
const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
const snapshot = snapshotProject();
const prepared = await prepareDirect(snapshot.dir);
const servers = [];
const watchdog = setTimeout(() => (killAllNow(), process.exit(124)), 600_000);
try {
  const state = prepared.newState();
  const wechat = await startWeChat(prepared, { projectDir: snapshot.dir });
  servers.push(wechat);
  const storage = await startStorage(prepared, state, { migrate: true, projectDir: snapshot.dir });
  servers.push(storage);
  const server = await startDirect(prepared, state, { wechat, storage, projectDir: snapshot.dir });
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
  const selected = Object.entries(ops).filter(([name]) => !only || only.includes(name));
  const rounds = Object.fromEntries(selected.map(([name]) => [name, []]));
  for (let round = 0; round < repeat; round += 1) {
    for (const [name, op] of selected) {
      const n = name === 'login' || name === 'exchange' ? Math.ceil(count / 3) : count;
      if (round === 0) await runPhase({ concurrency, count: Math.ceil(n / 5), maxMs: 60_000, op }); // warm
      const [worker, store, fake] = [cpuMs(server.pid), cpuMs(storage.pid), cpuMs(wechat.pid)];
      const phase = await runPhase({ concurrency, count: n, maxMs: 120_000, op });
      if (phase.errors.length) throw new Error(`${name}: ${phase.errors[0]}`);
      rounds[name].push({ worker: (cpuMs(server.pid) - worker) / n, storage: (cpuMs(storage.pid) - store) / n, fake: (cpuMs(wechat.pid) - fake) / n, rps: n / phase.seconds });
    }
  }
  for (const [name, all] of Object.entries(rounds)) {
    const pick = (key) => median(all.map((r) => r[key]));
    console.log(
      `${name.padEnd(10)} worker ${pick('worker').toFixed(3)} ms/op (rounds ${all.map((r) => r.worker.toFixed(2)).join(' ')})   storage ${pick('storage').toFixed(3)}   WeChat fake ${pick('fake').toFixed(3)}   ${pick('rps').toFixed(0)} op/s`,
    );
  }
  http.close();
  side.close();
} finally {
  for (const server of servers.reverse()) await server.stop();
  prepared.remove();
  snapshot.remove();
  clearTimeout(watchdog);
}
