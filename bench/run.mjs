#!/usr/bin/env node
// npm run bench: the bridge two ways (as `npm start` runs it: wrangler dev of the development
// entry with the WeChat sandbox in it, real workerd, local D1 and KV, fresh temporary state; and
// production-shaped: the production entry, src/index.ts, bundled as `wrangler deploy` bundles it
// and served by Miniflare's API on a direct socket, one workerd, its D1 and KV in a workerd of
// their own as they are services apart in production, calling a WeChat fake that runs in a
// workerd of its own, bench/lib/miniflare.mjs) against node-oidc-provider 9
// (bench/peer/server.mjs) two ways (its in-memory adapter; Redis, bench/peer/redis-adapter.mjs),
// both calling the same WeChat fake; same load, loopback only, bounded in requests and in time.
// See docs/performance.md.
//
// Environment (all optional):
//   BENCH_SCALE            multiplies every request count (default 1; 0.2 for a quick look)
//   BENCH_CONCURRENCY      comma-separated concurrency levels (default "1,16")
//   BENCH_PHASE_SECONDS    time cap of one measured phase (default 4)
//   BENCH_TIMEOUT_SECONDS  hard cap of the whole run; everything is killed after it (default 300)
//   BENCH_OUT              output directory (default bench/results)
//   BENCH_IN_PLACE         1: run the bridge from the working tree instead of a snapshot of it
//   BENCH_CENSUS           0: skip the count of D1 calls per operation (through the inspector)
//   BENCH_HARNESS          1: also call wrangler dev's worker on its own socket, past the proxy
//   BENCH_COLD             number of cold starts (fresh Miniflare instances) to time (default 3)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { measureBundle } from './lib/bundle.mjs';
import { Http } from './lib/http.mjs';
import { bindingCensus, DevTools, listeningPorts, workerInspectorUrl } from './lib/inspector.mjs';
import { BridgeSide, PeerSide, TOKEN_EXCHANGE } from './lib/flows.mjs';
import { prepareDirect, startDirect, startStorage, startWeChat } from './lib/miniflare.mjs';
import { round, runPhase, summarize } from './lib/load.mjs';
import { cpuByRole, cpuMs, diffRoles, killAllNow, processTree, root, snapshotProject, startBridge, startPeer, startRedis } from './lib/servers.mjs';
import { chartSvg } from './lib/svg.mjs';

const scale = Number(process.env.BENCH_SCALE || 1);
const concurrencies = (process.env.BENCH_CONCURRENCY || '1,16').split(',').map(Number);
const phaseMs = Number(process.env.BENCH_PHASE_SECONDS || 4) * 1000;
const timeoutMs = Number(process.env.BENCH_TIMEOUT_SECONDS || 300) * 1000;
const coldStarts = Number(process.env.BENCH_COLD ?? 3);
const outDir = resolve(process.env.BENCH_OUT || join(root, 'bench/results'));

/** Operations per measured phase (each side, each concurrency), before BENCH_SCALE. */
const COUNTS = { userinfo: 600, refresh: 300, exchange: 150, login: 100 };
/** exchange: a native app's login, token exchange (a SendAuth code minted at WeChat's fake + POST /token; the server calls WeChat twice). login: the browser's code flow (its wx.login code exchanged once). */
const OPS = ['userinfo', 'refresh', 'exchange', 'login'];
/** The four servers: the bridge through wrangler dev and through Miniflare alone; the peer in memory and on Redis. */
const SIDES = ['bridge', 'direct', 'peer', 'peerRedis'];
const LABELS = { bridge: 'bridge (wrangler dev)', direct: 'bridge (production entry, Miniflare direct, storage apart)', peer: 'oidc-provider (memory)', peerRedis: 'oidc-provider (Redis)' };
/** HTTP requests in one operation, per side (a login is several), the code mint at WeChat's fake included. */
const REQUESTS_PER_OP = { bridge: { login: 6, exchange: 2 }, direct: { login: 6, exchange: 2 }, peer: { login: 6, exchange: 2 }, peerRedis: { login: 6, exchange: 2 } };
/** The sides whose WeChat is the separate fake (its CPU is counted apart); wrangler dev's is the sandbox inside it. */
const ON_FAKE = new Set(['direct', 'peer', 'peerRedis']);
const count = (op) => Math.max(20, Math.round(COUNTS[op] * scale));

const started = Date.now();
const log = (...args) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s]`, ...args);

const servers = [];
const snapshot = process.env.BENCH_IN_PLACE === '1' ? undefined : snapshotProject();
const projectDir = snapshot?.dir ?? root;
let prepared;
async function shutdown() {
  await Promise.allSettled(servers.map((server) => server.stop()));
  snapshot?.remove();
  prepared?.remove();
}
const watchdog = setTimeout(() => {
  console.error(`bench: the run exceeded BENCH_TIMEOUT_SECONDS (${timeoutMs / 1000} s); killing everything`);
  killAllNow();
  snapshot?.remove();
  prepared?.remove();
  process.exit(124);
}, timeoutMs);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAllNow();
    snapshot?.remove();
    prepared?.remove();
    process.exit(130);
  });
}

const version = (pkg) => {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
};

async function main() {
  log(`bench: counts ${JSON.stringify(Object.fromEntries(OPS.map((op) => [op, count(op)])))}, concurrency ${concurrencies.join(', ')}, phase cap ${phaseMs / 1000} s`);
  log('bundle: wrangler deploy --dry-run');
  const bundle = await measureBundle(projectDir);
  log(`bundle: ${(bundle.bytes / 1024).toFixed(1)} KiB, gzip ${(bundle.gzipBytes / 1024).toFixed(1)} KiB (minified: gzip ${(bundle.minified.gzipBytes / 1024).toFixed(1)} KiB)`);

  log('starting the bridge (scripts/start.mjs), the WeChat fake and the production entry on Miniflare, redis-server and node-oidc-provider (memory, Redis)');
  const t0 = Date.now();
  const timed = (promise) => promise.then((server) => (servers.push(server), { server, ms: Date.now() - t0 }));
  const redis = await timed(startRedis());
  prepared = await prepareDirect(projectDir);
  const directState = prepared.newState();
  // One after the other: each Miniflare's workerd is found as the new workerd child of this process.
  const wechat = await timed(startWeChat(prepared, { projectDir }));
  const storage = await timed(startStorage(prepared, directState, { migrate: true, projectDir }));
  const directStarted = await timed(startDirect(prepared, directState, { wechat: wechat.server, storage: storage.server, projectDir }));
  const fake = { origin: wechat.server.origin, apps: JSON.parse(prepared.vars.WECHAT_APPS) };
  const [bridgeServer, directServer, peerServer, peerRedisServer] = await Promise.all([
    timed(startBridge({ projectDir })),
    directStarted,
    timed(startPeer({ wechat: fake })),
    timed(startPeer({ redisUrl: redis.server.url, wechat: fake })),
  ]);
  log(`WeChat fake ${wechat.server.origin} (pid ${wechat.server.pid}); the production entry's D1 and KV on ports ${storage.server.d1} and ${storage.server.kv} (pid ${storage.server.pid})`);
  for (const [name, started] of Object.entries({ bridge: bridgeServer, direct: directServer, peer: peerServer, peerRedis: peerRedisServer })) {
    log(`${LABELS[name]} ${started.server.issuer} (pid ${started.server.pid}, ${started.ms} ms)`);
  }

  const grantTypes = ['authorization_code', 'refresh_token', TOKEN_EXCHANGE];
  const sides = [
    await BridgeSide.create(bridgeServer.server, { grantTypes }),
    await BridgeSide.create(directServer.server, { grantTypes }),
    await PeerSide.create(peerServer.server),
    await PeerSide.create(peerRedisServer.server),
  ];
  sides.forEach((side, i) => (side.name = SIDES[i]));
  /** The processes whose CPU is the server's: the whole tree of each, the peer on Redis with redis-server's. */
  const processesOf = {
    bridge: () => processTree(bridgeServer.server.pid),
    direct: () => [{ pid: directServer.server.pid, role: 'workerd (Miniflare)' }],
    peer: () => processTree(peerServer.server.pid),
    peerRedis: () => [...processTree(peerRedisServer.server.pid), { pid: redis.server.pid, role: 'redis-server', children: true }],
  };
  const maxC = Math.max(...concurrencies);
  /** The token set each worker of each side holds (refresh tokens rotate: each worker owns its chain). */
  const tokens = Object.fromEntries(SIDES.map((name) => [name, []]));
  const identity = (w) => ({ openid: `obench${w}`, unionid: `ubench${w}` });

  // Warm-up, not measured: first requests (isolate start, key import, JIT), first logins of
  // each worker's user (the measured logins are returning users), seeds for userinfo/refresh.
  const cold = {};
  for (const side of sides) {
    const http = side.http(maxC);
    const t = process.hrtime.bigint();
    await side.discovery(http);
    const firstDiscovery = Number(process.hrtime.bigint() - t) / 1e6;
    const t2 = process.hrtime.bigint();
    tokens[side.name][0] = await side.login(http, identity(0));
    const firstLogin = Number(process.hrtime.bigint() - t2) / 1e6;
    cold[side.name] = { firstDiscoveryMs: round(firstDiscovery), firstLoginMs: round(firstLogin) };
    await runPhase({ concurrency: maxC, count: maxC, maxMs: 30_000, op: async (w) => void (tokens[side.name][w] = await side.login(http, identity(w))) });
    await runPhase({ concurrency: maxC, count: maxC * 2, maxMs: 20_000, op: async (w) => void (await side.appLogin(http, identity(w))) });
    for (const op of ['discovery', 'jwks', 'userinfo', 'refresh']) {
      await runPhase({
        concurrency: maxC,
        count: 50,
        maxMs: 10_000,
        op: async (w) => {
          if (op === 'refresh') tokens[side.name][w] = await side.refresh(http, tokens[side.name][w]);
          else if (op === 'userinfo') await side.userinfo(http, tokens[side.name][w]);
          else await side[op](http);
        },
      });
    }
    http.close();
  }
  log(`warm: first discovery / first login (ms): ${SIDES.map((name) => `${name} ${cold[name].firstDiscoveryMs} / ${cold[name].firstLoginMs}`).join('; ')}`);

  // Before the measured phases, not during them: D1 calls per operation, seen through the
  // worker's inspector. (Early on purpose: wrangler's inspector proxy queues every Network
  // event for a DevTools client and replays the whole queue when one attaches.)
  let census;
  if (process.env.BENCH_CENSUS !== '0') {
    try {
      const proxy = processTree(bridgeServer.server.pid).find((p) => p.role === 'workerd-proxy');
      const url = proxy && (await workerInspectorUrl(proxy.pid));
      if (!url) throw new Error('no inspector found');
      const devtools = await DevTools.connect(url, 15_000);
      const bridge = sides[0];
      const http = bridge.http(1);
      try {
        census = await bindingCensus(
          devtools,
          {
            discovery: () => bridge.discovery(http),
            jwks: () => bridge.jwks(http),
            userinfo: () => bridge.userinfo(http, tokens.bridge[0]),
            refresh: async () => void (tokens.bridge[0] = await bridge.refresh(http, tokens.bridge[0])),
            exchange: async () => void (await bridge.appLogin(http, identity(0))),
            'exchange (new user)': async () => void (await bridge.appLogin(http, {})),
            login: async () => void (tokens.bridge[0] = await bridge.login(http, identity(0))),
            'login (new user)': async () => void (tokens.bridge[0] = await bridge.login(http, {})),
          },
          http,
        );
      } finally {
        http.close();
        devtools.close();
      }
    } catch (error) {
      log(`census skipped: ${error.message}`);
    }
  }

  // The dev harness: the same worker called on its own workerd socket, without wrangler's
  // proxy in front, to tell the worker's cost from the cost of `wrangler dev` around it.
  let harness;
  if (process.env.BENCH_HARNESS === '1') {
    try {
      harness = await measureHarness(bridgeServer.server, sides[0], tokens.bridge, identity);
    } catch (error) {
      log(`harness check skipped: ${error.message}`);
    }
  }

  const results = [];
  for (const op of OPS) {
    for (const concurrency of concurrencies) {
      const row = { op, concurrency };
      for (const side of sides) {
        const http = side.http(concurrency);
        const mine = tokens[side.name];
        const operation = async (w) => {
          switch (op) {
            case 'login':
              mine[w] = await side.login(http, identity(w));
              return;
            case 'exchange':
              await side.appLogin(http, identity(w));
              return;
            case 'userinfo':
              await side.userinfo(http, mine[w]);
              return;
            case 'refresh':
              try {
                mine[w] = await side.refresh(http, mine[w]);
              } catch (error) {
                // The chain is spent or revoked: start a new one (outside the latencies), report the error.
                mine[w] = await side.login(http, identity(w)).catch(() => mine[w]);
                throw error;
              }
              return;
            default:
              await side[op](http);
          }
        };
        const tree = processesOf[side.name]();
        const load = loadavg()[0];
        const wechatBefore = cpuMs(wechat.server.pid);
        const storageBefore = cpuMs(storage.server.pid);
        const cpuBefore = cpuByRole(tree);
        const clientBefore = process.cpuUsage();
        const phase = await runPhase({ concurrency, count: count(op), maxMs: phaseMs, op: operation });
        const clientCpu = process.cpuUsage(clientBefore);
        const cpu = diffRoles(cpuByRole(tree), cpuBefore);
        const wechatCpu = cpuMs(wechat.server.pid) - wechatBefore;
        const storageCpu = cpuMs(storage.server.pid) - storageBefore;
        const http5xx = http.fiveHundreds();
        const pidsBefore = tree.map((p) => p.pid).join(',');
        const processesChanged = processesOf[side.name]().map((p) => p.pid).join(',') !== pidsBefore;
        http.close();
        const summary = summarize(phase);
        const ops = Math.max(1, summary.ok + summary.errors);
        const totalCpu = Object.values(cpu).reduce((sum, value) => sum + value, 0);
        row[side.name] = {
          ...summary,
          http5xx,
          httpRequestsPerOp: REQUESTS_PER_OP[side.name][op] ?? 1,
          cpuMs: round(totalCpu, 0),
          cpuMsPerOp: round(totalCpu / ops, 3),
          processesChanged,
          // The WeChat fake's workerd over the phase (code mints and the WeChat API calls): not in cpuMsPerOp.
          ...(ON_FAKE.has(side.name) ? { wechatFakeCpuMsPerOp: round(wechatCpu / ops, 3) } : {}),
          // The production entry's D1 and KV (their workerd) over the phase: not in cpuMsPerOp.
          ...(side.name === 'direct' ? { storageCpuMsPerOp: round(storageCpu / ops, 3), withStorageCpuMsPerOp: round((totalCpu + storageCpu) / ops, 3) } : {}),
          cpuByRolePerOp: Object.fromEntries(Object.entries(cpu).filter(([, v]) => v > 0).map(([role, v]) => [role, round(v / ops, 3)])),
          // Of the server's CPU: how busy it was, in cores (2 on this machine).
          serverCores: round(totalCpu / 1000 / phase.seconds, 2),
          clientCpuMsPerOp: round((clientCpu.user + clientCpu.system) / 1000 / ops, 3),
          loadavg1AtStart: round(load, 2),
        };
        const s = row[side.name];
        if (processesChanged) log(`warning: the ${side.name}'s processes changed during this phase (a reload?): its CPU figures are wrong`);
        log(`${op.padEnd(9)} c=${String(concurrency).padEnd(2)} ${side.name.padEnd(6)} ${String(s.rps).padStart(8)} op/s  p50 ${String(s.p50).padStart(7)} ms  p99 ${String(s.p99).padStart(7)} ms  cpu ${String(s.cpuMsPerOp).padStart(7)} ms/op${s.errors ? `  ERRORS ${s.errors}: ${s.firstErrors[0]}` : ''}${s.truncated ? '  (time cap)' : ''}`);
      }
      // Throughput and CPU per operation of each server against each peer (above 1: more throughput, more CPU).
      const workerCpu = (name) => (name === 'bridge' ? row.bridge.cpuByRolePerOp['workerd-worker'] ?? 0 : row[name].cpuMsPerOp);
      row.ratio = {};
      for (const name of ['bridge', 'direct']) {
        for (const peer of ['peer', 'peerRedis']) {
          row.ratio[`${name}/${peer}`] = {
            rps: round(row[name].rps / row[peer].rps, 3),
            p50: round(row[name].p50 / row[peer].p50, 2),
            cpu: round(row[name].cpuMsPerOp / row[peer].cpuMsPerOp, 2),
            workerCpu: round(workerCpu(name) / row[peer].cpuMsPerOp, 2),
            ...(name === 'direct' ? { cpuWithStorage: round(row.direct.withStorageCpuMsPerOp / row[peer].cpuMsPerOp, 2), ...ceilings(row.direct, concurrency, row[peer].rps) } : {}),
          };
        }
      }
      results.push(row);
    }
  }

  // Cold starts: the measured Miniflare instance stopped, fresh ones (a new workerd, a new
  // isolate) on the same state, each timed from the constructor to its first answers.
  const coldStart = [];
  if (coldStarts > 0) {
    await directServer.server.stop();
    for (let i = 0; i < coldStarts; i += 1) {
      const fresh = await startDirect(prepared, directState, { wechat: wechat.server, storage: storage.server, projectDir });
      try {
        const readyCpuMs = cpuMs(fresh.pid);
        const http = new Http(fresh.issuer, 1, 15_000, { headers: fresh.headers });
        const timedCpu = async (fn) => {
          const cpu0 = cpuMs(fresh.pid);
          const t = process.hrtime.bigint();
          await fn();
          return { ms: round(Number(process.hrtime.bigint() - t) / 1e6), cpuMs: round(cpuMs(fresh.pid) - cpu0, 0) };
        };
        const firstRequest = await timedCpu(async () => {
          const response = await http.get('/.well-known/openid-configuration');
          if (response.status !== 200) throw new Error(`cold start: discovery answered ${response.status}`);
        });
        const secondRequest = await timedCpu(async () => void (await http.get('/.well-known/openid-configuration')));
        const side = await BridgeSide.create(fresh, { grantTypes });
        const firstExchange = await timedCpu(() => side.appLogin(http, identity(0)));
        const secondExchange = await timedCpu(() => side.appLogin(http, identity(0)));
        http.close();
        side.close();
        coldStart.push({ readyMs: round(fresh.readyMs, 0), readyCpuMs: round(readyCpuMs, 0), firstRequest, secondRequest, firstExchange, secondExchange });
      } finally {
        await fresh.stop();
      }
    }
    const c = coldStart.at(-1);
    log(`cold start (Miniflare, last of ${coldStarts}): workerd ready ${c.readyMs} ms (${c.readyCpuMs} ms CPU); first request ${c.firstRequest.ms} ms (${c.firstRequest.cpuMs} ms CPU), second ${c.secondRequest.ms} ms; first token exchange ${c.firstExchange.ms} ms (${c.firstExchange.cpuMs} ms CPU), second ${c.secondExchange.ms} ms`);
  }

  const failures = Object.fromEntries(SIDES.flatMap((name) => [[name, 0], [`${name}5xx`, 0]]));
  for (const row of results) {
    for (const name of SIDES) {
      failures[name] += row[name].errors;
      failures[`${name}5xx`] += row[name].http5xx;
    }
  }

  const report = {
    generatedAt: new Date().toISOString(),
    command: 'npm run bench',
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavgAtEnd: loadavg().map((v) => round(v, 2)) },
    versions: {
      wrangler: version('wrangler'),
      workerd: version('wrangler/node_modules/workerd') ?? version('workerd'),
      'oidc-provider': version('oidc-provider'),
      hono: version('hono'),
      jose: version('jose'),
    },
    settings: { scale, concurrencies, phaseSeconds: phaseMs / 1000, counts: Object.fromEntries(OPS.map((op) => [op, count(op)])) },
    notes: [
      'Sides: bridge = wrangler dev (npm start) of the development entry src/dev.ts, the WeChat sandbox inside; direct = the production entry src/index.ts bundled by wrangler deploy --dry-run, on Miniflare (one workerd, requests on a direct socket past Miniflare\'s entry router), its D1 and KV bindings sent over loopback HTTP to Miniflare\'s D1 and KV simulators in a workerd of their own (storage), its WeChat requests sent to the WeChat fake; peer = node-oidc-provider 9, in-memory adapter; peerRedis = node-oidc-provider 9 on redis-server through an ioredis adapter. The WeChat fake (bench/wechat/worker.mjs, the sandbox\'s fake of WeChat\'s API) runs in a workerd of its own, called by direct, peer and peerRedis alike.',
      'One operation = one HTTP request, except exchange (a native app login: code mint at WeChat + token exchange, 2 requests; the server then calls sns/oauth2/access_token and sns/userinfo) and login (a complete code flow with PKCE, 6 requests on each side incl. the wx.login code mint; the server calls sns/jscode2session).',
      'cpuMsPerOp: utime+stime from /proc/<pid>/stat over the phase, divided by operations: bridge every process of wrangler dev (its in-process sandbox included); direct the bridge\'s Miniflare workerd only (the worker, its rate-limit bindings and queue broker, workerd\'s HTTP; not D1 and KV: storageCpuMsPerOp, and withStorageCpuMsPerOp the two together); peer one node process; peerRedis node + redis-server. wechatFakeCpuMsPerOp: the WeChat fake\'s workerd over the same phase (mints and WeChat calls), counted apart, for direct, peer and peerRedis.',
      'ratio[a/b]: a / b (rps below 1 and p50/cpu above 1 mean a is slower or costlier); workerCpu counts only the workerd that runs the worker on the wrangler dev path.',
      "ratio['direct/…'].ceiling and strictCeiling: the throughput ratio the production entry would have had if its worker had used no CPU, all else as measured: at c = 1 both are 1 / (1 / rps − worker CPU per op); under load, ceiling = rps × (worker + storage + WeChat fake + load generator CPU) / (storage + WeChat fake + load generator CPU), the measured processes keeping the share of the machine they had (the kernel and the rest as they were), and strictCeiling = cores / (storage + WeChat fake + load generator CPU), every core to them: a bound for any change to the worker whatever the rest does.",
      'The machine has 2 cores shared with other work (other sessions ran tests at the same time): compare the rows of one run, not runs.',
    ],
    bundle,
    d1CallsPerOperation: census,
    devHarness: harness,
    startup: { bridgeMs: bridgeServer.ms, wechatFakeMs: wechat.ms, storageMs: storage.ms, directMs: directServer.ms, peerMs: peerServer.ms, peerRedisMs: peerRedisServer.ms, cold },
    coldStart,
    errors: failures,
    results,
  };

  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(
    join(outDir, 'latest.svg'),
    chartSvg({
      rows: results,
      sides: SIDES,
      labels: LABELS,
      title: 'WeChat OIDC bridge (wrangler dev; production entry on Miniflare) vs node-oidc-provider 9 (memory; Redis), WeChat fake apart',
      subtitle: `${report.generatedAt.slice(0, 16).replace('T', ' ')} UTC · ${report.machine.cpus} cores · Node ${process.version} · loopback, keep-alive · bundle gzip ${(bundle.gzipBytes / 1024).toFixed(1)} KiB`,
    }),
  );
  printTable(report);
  log(`wrote ${relative(process.cwd(), join(outDir, 'latest.json'))} and ${relative(process.cwd(), join(outDir, 'latest.svg'))}`);
  return report;
}

/** Per operation at c=1: latency and the worker's CPU, through wrangler's proxy and directly. */
async function measureHarness(server, bridge, chainTokens, identity) {
  const tree = processTree(server.pid);
  const worker = tree.find((p) => p.role === 'workerd-worker');
  if (!worker) throw new Error('no workerd running the worker');
  const port = await directPort(worker.pid, server.issuer);
  if (!port) throw new Error("the worker's own socket was not found");
  const n = Math.max(20, Math.round(150 * scale));
  const operations = {};
  let tokens = chainTokens[0];
  for (const op of ['discovery', 'userinfo', 'refresh']) {
    operations[op] = {};
    for (const [mode, http] of [
      ['viaProxy', new Http(server.issuer, 1)],
      ['direct', new Http(server.issuer, 1, 15_000, { port })],
    ]) {
      const before = cpuMs(worker.pid);
      const phase = await runPhase({
        concurrency: 1,
        count: n,
        maxMs: phaseMs,
        op: async () => {
          if (op === 'discovery') await bridge.discovery(http);
          else if (op === 'userinfo') await bridge.userinfo(http, tokens);
          else tokens = await bridge.refresh(http, tokens);
        },
      });
      const summary = summarize(phase);
      operations[op][mode] = { p50: summary.p50, p99: summary.p99, rps: summary.rps, workerCpuMsPerOp: round((cpuMs(worker.pid) - before) / Math.max(1, summary.ok), 3), errors: summary.errors };
      http.close();
    }
  }
  chainTokens[0] = tokens;
  return { count: n, directPort: port, operations };
}

/** The port on which the worker's workerd serves the worker itself (miniflare's entry socket). */
async function directPort(pid, issuer) {
  for (const port of listeningPorts(pid)) {
    const http = new Http(issuer, 1, 2_000, { port });
    try {
      const response = await http.get('/.well-known/openid-configuration');
      if (response.status === 200 && response.json().issuer === issuer) return port;
    } catch {
      // not it
    } finally {
      http.close();
    }
  }
  return undefined;
}

/**
 * The most throughput the production entry could have had in this phase if its worker had used no
 * CPU at all, everything else as measured: what any change to the worker could reach here. At
 * c = 1 an operation's time is its latency, and the worker's CPU is at most all of it on the
 * critical path. Under load an operation's time is the CPU it takes on the machine: the worker,
 * D1 and KV, the WeChat fake, the load generator. `ceiling` keeps the share of the machine those
 * processes were measured to use (the rest, the kernel's network stack and everything else, as
 * it was); `strict`, a bound that holds whatever that rest does, gives them every core.
 */
function ceilings(direct, concurrency, peerRps) {
  const worker = direct.cpuMsPerOp;
  const rest = direct.storageCpuMsPerOp + (direct.wechatFakeCpuMsPerOp ?? 0) + direct.clientCpuMsPerOp;
  const [ceiling, strict] =
    concurrency === 1 ? Array(2).fill(1000 / (1000 / direct.rps - worker)) : [(direct.rps * (worker + rest)) / rest, (cpus().length * 1000) / rest];
  return { ceiling: round(ceiling / peerRps, 2), strictCeiling: round(strict / peerRps, 2) };
}

function printTable(report) {
  const header = ['operation', 'c', ...SIDES.flatMap((name) => [`${name} op/s`, 'p50', 'cpu/op']), 'direct/peerRedis rps', 'cpu', 'cpu+storage', 'ceiling', 'strict'];
  const lines = report.results.map((row) =>
    [
      row.op,
      row.concurrency,
      ...SIDES.flatMap((name) => [row[name].rps, row[name].p50, row[name].cpuMsPerOp]),
      row.ratio['direct/peerRedis'].rps,
      row.ratio['direct/peerRedis'].cpu,
      row.ratio['direct/peerRedis'].cpuWithStorage,
      row.ratio['direct/peerRedis'].ceiling,
      row.ratio['direct/peerRedis'].strictCeiling,
    ].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log('');
  console.log(`Sides: ${SIDES.map((name) => `${name} = ${LABELS[name]}`).join('; ')}.`);
  console.log('Latency in ms; cpu/op = ms of server CPU per operation (bridge: every process of wrangler dev; direct: its one workerd, D1/KV (storage) and the WeChat fake not included; peerRedis: node + redis-server).');
  console.log('ceiling = the direct/peerRedis throughput ratio had the worker used no CPU at all, all else as measured (the machine as busy as it was); strict = the same with every core to the rest: a bound for any change to the worker.');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(fmt(line));
  console.log('');
  console.log('wrangler dev CPU per operation by process (ms):');
  for (const row of report.results) {
    const roles = Object.entries(row.bridge.cpuByRolePerOp).map(([role, v]) => `${role} ${v}`).join(', ');
    console.log(`  ${row.op.padEnd(9)} c=${String(row.concurrency).padEnd(2)} ${roles}`);
  }
  console.log("The WeChat fake's workerd, CPU per operation over each side's phase (ms; counted apart, in no side's cpu/op):");
  for (const row of report.results) {
    const sides = [...ON_FAKE].map((name) => `${name} ${row[name].wechatFakeCpuMsPerOp}`).join(', ');
    console.log(`  ${row.op.padEnd(9)} c=${String(row.concurrency).padEnd(2)} ${sides}`);
  }
  console.log("The production entry's D1 and KV (storage workerd), CPU per operation (ms; counted apart, in cpu+storage):");
  for (const row of report.results) console.log(`  ${row.op.padEnd(9)} c=${String(row.concurrency).padEnd(2)} ${row.direct.storageCpuMsPerOp}`);
  console.log('oidc-provider on Redis CPU per operation by process (ms):');
  for (const row of report.results) {
    const roles = Object.entries(row.peerRedis.cpuByRolePerOp).map(([role, v]) => `${role} ${v}`).join(', ');
    console.log(`  ${row.op.padEnd(9)} c=${String(row.concurrency).padEnd(2)} ${roles}`);
  }
  if (report.d1CallsPerOperation) {
    console.log('');
    console.log('Bridge D1 calls per operation (subrequests the worker made, seen through its inspector; KV calls are not visible there):');
    for (const [op, c] of Object.entries(report.d1CallsPerOperation)) {
      const steps = Object.entries(c.steps).map(([step, n]) => `${step} ${n.D1 ?? 0}`).join(', ');
      console.log(`  ${op.padEnd(19)} ${String(c.D1 ?? 0).padStart(4)}   (${steps})`);
    }
  }
  if (report.devHarness) {
    console.log('');
    console.log(`wrangler dev's proxy in front of the worker (c=1, ${report.devHarness.count} operations each; p50 ms, worker workerd CPU ms/op):`);
    for (const [op, h] of Object.entries(report.devHarness.operations)) {
      console.log(`  ${op.padEnd(9)} via proxy p50 ${h.viaProxy.p50}, cpu ${h.viaProxy.workerCpuMsPerOp}   direct p50 ${h.direct.p50}, cpu ${h.direct.workerCpuMsPerOp}`);
    }
  }
  const b = report.bundle;
  console.log('');
  console.log(`Deployable bundle (wrangler deploy --dry-run): ${(b.bytes / 1024).toFixed(1)} KiB, gzip ${(b.gzipBytes / 1024).toFixed(1)} KiB; minified gzip ${(b.minified.gzipBytes / 1024).toFixed(1)} KiB; wrangler: ${b.wranglerReported}`);
  console.log(`  largest parts: ${b.byPackage.slice(0, 6).map((p) => `${p.name} ${(p.bytes / 1024).toFixed(0)} KiB`).join(', ')}`);
  console.log(`Failed operations: ${SIDES.map((name) => `${name} ${report.errors[name]}`).join(', ')}; HTTP 5xx: ${SIDES.map((name) => `${name} ${report.errors[`${name}5xx`]}`).join(', ')}`);
}

let exitCode = 0;
try {
  const report = await main();
  if (SIDES.some((name) => report.errors[name] > 0)) exitCode = 1;
} catch (error) {
  console.error(error?.stack ?? error);
  for (const server of servers) {
    if (server.output) console.error(`--- ${server.issuer} output (tail) ---\n${server.output().slice(-2000)}`);
  }
  exitCode = 1;
} finally {
  await shutdown();
  clearTimeout(watchdog);
}
log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(exitCode);
