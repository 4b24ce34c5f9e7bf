#!/usr/bin/env node
// npm run bench: the bridge (as `npm start` runs it: wrangler dev, real workerd, local D1 and
// KV, fresh temporary state) against node-oidc-provider 9 (bench/peer/server.mjs), same load,
// loopback only, bounded in requests and in time. See docs/performance.md.
//
// Environment (all optional):
//   BENCH_SCALE            multiplies every request count (default 1; 0.2 for a quick look)
//   BENCH_CONCURRENCY      comma-separated concurrency levels (default "1,16")
//   BENCH_PHASE_SECONDS    time cap of one measured phase (default 10)
//   BENCH_TIMEOUT_SECONDS  hard cap of the whole run; everything is killed after it (default 180)
//   BENCH_OUT              output directory (default bench/results)
//   BENCH_IN_PLACE         1: run the bridge from the working tree instead of a snapshot of it
//   BENCH_CENSUS           0: skip the count of D1 calls per operation (through the inspector)
//   BENCH_HARNESS          0: skip the comparison with the worker called without wrangler's proxy
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { measureBundle } from './lib/bundle.mjs';
import { Http } from './lib/http.mjs';
import { bindingCensus, DevTools, listeningPorts, workerInspectorUrl } from './lib/inspector.mjs';
import { BridgeSide, PeerSide } from './lib/flows.mjs';
import { round, runPhase, summarize } from './lib/load.mjs';
import { cpuByRole, cpuMs, diffRoles, killAllNow, processTree, root, snapshotProject, startBridge, startPeer } from './lib/servers.mjs';
import { chartSvg } from './lib/svg.mjs';

const scale = Number(process.env.BENCH_SCALE || 1);
const concurrencies = (process.env.BENCH_CONCURRENCY || '1,16').split(',').map(Number);
const phaseMs = Number(process.env.BENCH_PHASE_SECONDS || 10) * 1000;
const timeoutMs = Number(process.env.BENCH_TIMEOUT_SECONDS || 180) * 1000;
const outDir = resolve(process.env.BENCH_OUT || join(root, 'bench/results'));

/** Operations per measured phase (each side, each concurrency), before BENCH_SCALE. */
const COUNTS = { discovery: 1000, jwks: 1000, userinfo: 800, refresh: 400, login: 150 };
const OPS = ['discovery', 'jwks', 'userinfo', 'refresh', 'login'];
/** HTTP requests in one operation, per side (a login is several). */
const REQUESTS_PER_OP = { bridge: { login: 6 }, peer: { login: 5 } };
const count = (op) => Math.max(20, Math.round(COUNTS[op] * scale));

const started = Date.now();
const log = (...args) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s]`, ...args);

const servers = [];
const snapshot = process.env.BENCH_IN_PLACE === '1' ? undefined : snapshotProject();
const projectDir = snapshot?.dir ?? root;
async function shutdown() {
  await Promise.allSettled(servers.map((server) => server.stop()));
  snapshot?.remove();
}
const watchdog = setTimeout(() => {
  console.error(`bench: the run exceeded BENCH_TIMEOUT_SECONDS (${timeoutMs / 1000} s); killing everything`);
  killAllNow();
  snapshot?.remove();
  process.exit(124);
}, timeoutMs);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAllNow();
    snapshot?.remove();
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

  log('starting the bridge (scripts/start.mjs) and node-oidc-provider');
  const t0 = Date.now();
  const [bridgeServer, peerServer] = await Promise.all([
    startBridge({ projectDir }).then((server) => (servers.push(server), { server, ms: Date.now() - t0 })),
    startPeer().then((server) => (servers.push(server), { server, ms: Date.now() - t0 })),
  ]);
  log(`bridge ${bridgeServer.server.issuer} (pid ${bridgeServer.server.pid}, ${bridgeServer.ms} ms); peer ${peerServer.server.issuer} (pid ${peerServer.server.pid}, ${peerServer.ms} ms)`);

  const sides = [await BridgeSide.create(bridgeServer.server), await PeerSide.create(peerServer.server)];
  const serverOf = { bridge: bridgeServer.server, peer: peerServer.server };
  const maxC = Math.max(...concurrencies);
  /** The token set each worker of each side holds (refresh tokens rotate: each worker owns its chain). */
  const tokens = { bridge: [], peer: [] };
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
  log(`warm: bridge first discovery ${cold.bridge.firstDiscoveryMs} ms, first login ${cold.bridge.firstLoginMs} ms; peer ${cold.peer.firstDiscoveryMs} / ${cold.peer.firstLoginMs} ms`);

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
  if (process.env.BENCH_HARNESS !== '0') {
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
        const server = serverOf[side.name];
        const http = side.http(concurrency);
        const mine = tokens[side.name];
        const operation = async (w) => {
          switch (op) {
            case 'login':
              mine[w] = await side.login(http, identity(w));
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
        const tree = processTree(server.pid);
        const load = loadavg()[0];
        const cpuBefore = cpuByRole(tree);
        const clientBefore = process.cpuUsage();
        const phase = await runPhase({ concurrency, count: count(op), maxMs: phaseMs, op: operation });
        const clientCpu = process.cpuUsage(clientBefore);
        const cpu = diffRoles(cpuByRole(tree), cpuBefore);
        const http5xx = http.fiveHundreds();
        const pidsBefore = tree.map((p) => p.pid).join(',');
        const processesChanged = processTree(server.pid).map((p) => p.pid).join(',') !== pidsBefore;
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
      row.ratio = {
        rps: round(row.bridge.rps / row.peer.rps, 3),
        p50: round(row.bridge.p50 / row.peer.p50, 2),
        p99: round(row.bridge.p99 / row.peer.p99, 2),
        cpu: round(row.bridge.cpuMsPerOp / row.peer.cpuMsPerOp, 2),
        workerCpu: round((row.bridge.cpuByRolePerOp['workerd-worker'] ?? 0) / row.peer.cpuMsPerOp, 2),
      };
      results.push(row);
    }
  }

  const failures = { bridge: 0, peer: 0, bridge5xx: 0, peer5xx: 0 };
  for (const row of results) {
    for (const name of ['bridge', 'peer']) {
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
      'One operation = one HTTP request, except login: a complete code flow with PKCE (bridge 6 requests incl. the sandbox mint, peer 5).',
      'cpuMsPerOp: utime+stime from /proc/<pid>/stat of every process of the server (bridge: wrangler node, two workerd, esbuild, start script; peer: one node process) over the phase, divided by operations.',
      'ratio = bridge / peer (rps below 1 and latency/cpu above 1 mean the bridge is slower).',
    ],
    bundle,
    d1CallsPerOperation: census,
    devHarness: harness,
    startup: { bridgeMs: bridgeServer.ms, peerMs: peerServer.ms, cold },
    errors: failures,
    results,
  };

  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(
    join(outDir, 'latest.svg'),
    chartSvg({
      rows: results,
      title: 'WeChat OIDC bridge (wrangler dev, local D1/KV) vs node-oidc-provider 9',
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

function printTable(report) {
  const header = ['operation', 'c', 'bridge op/s', 'peer op/s', 'ratio', 'bridge p50', 'peer p50', 'ratio', 'bridge p99', 'peer p99', 'ratio', 'bridge cpu', 'worker cpu', 'peer cpu', 'ratio', 'ratio(worker)'];
  const lines = report.results.map((row) => [
    row.op,
    row.concurrency,
    row.bridge.rps,
    row.peer.rps,
    row.ratio.rps,
    row.bridge.p50,
    row.peer.p50,
    row.ratio.p50,
    row.bridge.p99,
    row.peer.p99,
    row.ratio.p99,
    row.bridge.cpuMsPerOp,
    row.bridge.cpuByRolePerOp['workerd-worker'] ?? 0,
    row.peer.cpuMsPerOp,
    row.ratio.cpu,
    row.ratio.workerCpu,
  ].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log('');
  console.log('Latency in ms; cpu = ms of server CPU time per operation (bridge: every process of wrangler dev;');
  console.log('worker cpu: only the workerd that runs the worker, D1 and KV); ratio = bridge / peer.');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(fmt(line));
  console.log('');
  console.log('Bridge CPU per operation by process (ms):');
  for (const row of report.results) {
    const roles = Object.entries(row.bridge.cpuByRolePerOp).map(([role, v]) => `${role} ${v}`).join(', ');
    console.log(`  ${row.op.padEnd(9)} c=${String(row.concurrency).padEnd(2)} ${roles}`);
  }
  if (report.d1CallsPerOperation) {
    console.log('');
    console.log('Bridge D1 calls per operation (subrequests the worker made, seen through its inspector; KV calls are not visible there):');
    for (const [op, c] of Object.entries(report.d1CallsPerOperation)) {
      const steps = Object.entries(c.steps).map(([step, n]) => `${step} ${n.D1 ?? 0}`).join(', ');
      console.log(`  ${op.padEnd(16)} ${String(c.D1 ?? 0).padStart(4)}${op.startsWith('login') ? `   (${steps})` : ''}`);
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
  console.log(`Failed operations: bridge ${report.errors.bridge}, peer ${report.errors.peer}; HTTP 5xx: bridge ${report.errors.bridge5xx}, peer ${report.errors.peer5xx}`);
}

let exitCode = 0;
try {
  const report = await main();
  if (report.errors.bridge + report.errors.peer > 0) exitCode = 1;
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
