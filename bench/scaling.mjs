#!/usr/bin/env node
// How cost grows with the user count (docs/scaling.md): the bridge as `npm start` runs it
// (bench/lib/servers.mjs), measured on its empty state, then again after
// scripts/seed-users.mjs added SCALING_USERS people to that same state. Userinfo, refresh
// and the token exchange (a returning person's login, and a new person's) at concurrency 1
// and 8: latency, and the CPU time of the worker's workerd process (which runs local D1's
// SQLite too) per operation. Each state is measured after one unmeasured pass of the same
// operations. Writes bench/results/scaling.json.
//
// Environment (all optional):
//   SCALING_USERS      people to seed (default 1000000)
//   SCALING_COUNT      operations per measured phase (default 200; logins a third of it)
//   SCALING_OUT        output directory (default bench/results)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BridgeSide, TOKEN_EXCHANGE } from './lib/flows.mjs';
import { jwtClaims } from './lib/http.mjs';
import { round, runPhase, summarize } from './lib/load.mjs';
import { cpuByRole, diffRoles, killAllNow, processTree, root, snapshotProject, startBridge } from './lib/servers.mjs';
import { seedOpenid, seedUserId } from '../scripts/seed-users.mjs';

const users = Number(process.env.SCALING_USERS || 1_000_000);
const perPhase = Number(process.env.SCALING_COUNT || 200);
const outDir = resolve(process.env.SCALING_OUT || join(root, 'bench/results'));
const CONCURRENCIES = [1, 8];

const started = Date.now();
const log = (...args) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`, ...args);

const snapshot = snapshotProject();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAllNow();
    snapshot.remove();
    process.exit(130);
  });
}

/** The local D1's SQLite file (and its WAL) under a state directory. */
function sqliteFiles(stateDir) {
  const dir = join(stateDir, 'v3/d1/miniflare-D1DatabaseObject');
  const main = readdirSync(dir).find((name) => name.endsWith('.sqlite') && name !== 'metadata.sqlite');
  return { main: join(dir, main), wal: join(dir, `${main}-wal`) };
}

/**
 * Bytes by table and index, from SQLite's dbstat on a copy of the file (python3's sqlite3
 * has it; D1 does not expose it). Undefined without python3.
 */
function bytesByTable(stateDir) {
  const { main, wal } = sqliteFiles(stateDir);
  const dir = mkdtempSync(join(tmpdir(), 'wechat-oidc-dbstat-'));
  try {
    copyFileSync(main, join(dir, 'db.sqlite'));
    if (existsSync(wal)) copyFileSync(wal, join(dir, 'db.sqlite-wal'));
    const script = `import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
pages = c.execute('PRAGMA page_count').fetchone()[0] * c.execute('PRAGMA page_size').fetchone()[0]
rows = {name: n for name, n in c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")}
print(json.dumps({'bytes': pages, 'byName': rows}))`;
    const result = spawnSync('python3', ['-c', script, join(dir, 'db.sqlite')], { encoding: 'utf8' });
    return result.status === 0 ? JSON.parse(result.stdout) : undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The worker's CPU (workerd running the worker and local D1) and the latencies of `op`, per operation. */
async function phase(server, concurrency, count, op) {
  const tree = processTree(server.pid);
  const before = cpuByRole(tree);
  const result = await runPhase({ concurrency, count, maxMs: 60_000, op });
  const cpu = diffRoles(cpuByRole(tree), before);
  const summary = summarize(result);
  return { ...summary, workerCpuMsPerOp: round((cpu['workerd-worker'] ?? 0) / Math.max(1, summary.ok), 3) };
}

/**
 * One measurement of the state as it is: tokens of `returning(w)` people for userinfo
 * and refresh, then the phases. `returning` names people already known to the bridge.
 */
async function measure(server, side, label, returning) {
  const out = {};
  let fresh = 0;
  for (const concurrency of CONCURRENCIES) {
    const http = side.http(concurrency);
    const tokens = [];
    await runPhase({ concurrency, count: concurrency, maxMs: 60_000, op: async (w) => void (tokens[w] = await side.appLogin(http, returning(w))) });
    let next = concurrency;
    const rows = {
      userinfo: await phase(server, concurrency, perPhase, (w) => side.userinfo(http, tokens[w])),
      refresh: await phase(server, concurrency, perPhase, async (w) => void (tokens[w] = await side.refresh(http, tokens[w]))),
      loginReturning: await phase(server, concurrency, Math.ceil(perPhase / 3), (w) => side.appLogin(http, returning((next += 1) + w))),
      loginNew: await phase(server, concurrency, Math.ceil(perPhase / 3), () => side.appLogin(http, { openid: `oNew${label}${(fresh += 1)}`, unionid: `uNew${label}${fresh}` })),
    };
    http.close();
    out[`c${concurrency}`] = rows;
    log(`${label} c=${concurrency}: ${Object.entries(rows).map(([op, r]) => `${op} p50 ${r.p50} ms p99 ${r.p99} ms cpu ${r.workerCpuMsPerOp} ms${r.errors ? ` (${r.errors} errors: ${r.firstErrors[0]})` : ''}`).join('; ')}`);
  }
  return out;
}

async function main() {
  log(`scaling: ${users} people, ${perPhase} operations per phase, concurrency ${CONCURRENCIES.join(', ')}`);
  const server = await startBridge({ projectDir: snapshot.dir });
  try {
    const appid = server.wechatApps.find((app) => app.kind === 'app')?.appid;
    const side = await BridgeSide.create(server, { grantTypes: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE] });
    const benchPerson = (w) => ({ openid: `oBench${w % 64}`, unionid: `uBench${w % 64}` });
    // Warm-up, not measured: the isolate, the key import, the JIT; the bench's own people exist after it.
    await measure(server, side, 'warmup', benchPerson);
    const empty = { state: bytesByTable(server.stateDir), results: await measure(server, side, 'empty', benchPerson) };

    log(`seeding ${users} people into the running bridge's state (scripts/seed-users.mjs)`);
    const t = Date.now();
    const seeded = spawnSync(process.execPath, [join(root, 'scripts/seed-users.mjs'), '--users', String(users), '--persist-to', server.stateDir, '--appid', appid], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (seeded.status !== 0) throw new Error(`seeding failed (${seeded.status})`);
    const seedSeconds = round((Date.now() - t) / 1000, 1);

    // Seeded people log in as themselves: the bridge must answer with the seeded sub.
    const someone = 1 + Math.floor(Math.random() * users);
    const tokens = await side.appLogin(side.http(1), { openid: seedOpenid(someone) });
    if (jwtClaims(tokens.id_token).sub !== seedUserId(someone)) throw new Error(`seeded person ${someone} logged in as ${jwtClaims(tokens.id_token).sub}`);
    const spread = (offset) => (w) => ({ openid: seedOpenid(1 + ((w * 7919 + offset) % users)) });
    // As on the empty state, one pass unmeasured first: the seed wrote from another process, so
    // this one's page cache starts empty and its first commits checkpoint the seed's WAL.
    await measure(server, side, 'seededWarmup', spread(someone + users / 2));
    const full = { state: bytesByTable(server.stateDir), results: await measure(server, side, 'seeded', spread(someone)) };

    const ratio = (op, c) => round(full.results[c][op].p50 / empty.results[c][op].p50, 2);
    const cpuRatio = (op, c) => round(full.results[c][op].workerCpuMsPerOp / empty.results[c][op].workerCpuMsPerOp, 2);
    const report = {
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg().map((v) => round(v, 2)), node: process.version },
      users,
      perPhase,
      seedSeconds,
      bytesPerUser: full.state && empty.state ? round((full.state.bytes - empty.state.bytes) / users, 1) : undefined,
      empty,
      seeded: full,
      p50Ratio: Object.fromEntries(CONCURRENCIES.map((c) => [`c${c}`, Object.fromEntries(['userinfo', 'refresh', 'loginReturning', 'loginNew'].map((op) => [op, ratio(op, `c${c}`)]))])),
      workerCpuRatio: Object.fromEntries(CONCURRENCIES.map((c) => [`c${c}`, Object.fromEntries(['userinfo', 'refresh', 'loginReturning', 'loginNew'].map((op) => [op, cpuRatio(op, `c${c}`)]))])),
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'scaling.json'), `${JSON.stringify(report, null, 2)}\n`);
    log(`p50 seeded/empty: ${JSON.stringify(report.p50Ratio)}; worker CPU: ${JSON.stringify(report.workerCpuRatio)}; ${report.bytesPerUser} bytes per person; seeding took ${seedSeconds} s`);
  } finally {
    await server.stop();
    snapshot.remove();
  }
}

try {
  await main();
} catch (error) {
  console.error(error);
  killAllNow();
  process.exitCode = 1;
}
