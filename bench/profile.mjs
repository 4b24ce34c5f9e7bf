#!/usr/bin/env node
// node bench/profile.mjs: where the bridge's worker spends its JavaScript time, per operation.
//
// By default the production-shaped bridge of `npm run bench` (bench/lib/miniflare.mjs): the
// production entry (src/index.ts) bundled as `wrangler deploy` bundles it (minified), on
// Miniflare with its inspector open, its D1 and KV and its WeChat (the fake) each in a workerd of
// their own (not profiled). PROFILE_DEV=1 profiles `npm start` instead (wrangler dev of
// src/dev.ts, the sandbox inside the worker, through wrangler's inspector proxy). Both run from
// a snapshot of the tree, on fresh state. Each operation runs PROFILE_RUNS times (default 60)
// one after another under V8's sampling profiler. Self time is mapped back through the bundle's
// source map; time in native code (WebCrypto, Response, body reading) and in workerd's D1 client
// is charged to the nearest bundled caller. Prints, per operation, the share by package or source
// file and the hottest frames, and writes bench/results/profile.json. Profiling slows the worker:
// read the shares, not the milliseconds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BridgeSide, TOKEN_EXCHANGE } from './lib/flows.mjs';
import { DevTools, profileOperations, workerInspectorUrl } from './lib/inspector.mjs';
import { prepareDirect, startDirect, startStorage, startWeChat } from './lib/miniflare.mjs';
import { freePort, killAllNow, processTree, root, snapshotProject, startBridge } from './lib/servers.mjs';

const runs = Number(process.env.PROFILE_RUNS || 60);
const dev = process.env.PROFILE_DEV === '1';
const outDir = resolve(process.env.BENCH_OUT || join(root, 'bench/results'));
const watchdog = setTimeout(() => {
  console.error('profile: timed out after 240 s');
  killAllNow();
  prepared?.remove();
  process.exit(124);
}, 240_000);

const snapshot = snapshotProject();
let prepared;
const servers = [];
let exitCode = 0;
try {
  let server;
  let inspectorUrl;
  if (dev) {
    server = await startBridge({ projectDir: snapshot.dir });
    servers.push(server);
  } else {
    prepared = await prepareDirect(snapshot.dir);
    const wechat = await startWeChat(prepared, { projectDir: snapshot.dir });
    servers.push(wechat);
    const state = prepared.newState();
    const storage = await startStorage(prepared, state, { migrate: true, projectDir: snapshot.dir });
    servers.push(storage);
    const inspectorPort = await freePort();
    server = await startDirect(prepared, state, { wechat, storage, projectDir: snapshot.dir, inspectorPort });
    servers.push(server);
    inspectorUrl = `ws://127.0.0.1:${inspectorPort}/core:user:wechat-oidc-bridge`;
  }
  const bridge = await BridgeSide.create(server, { grantTypes: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE] });
  const http = bridge.http(1);
  const identity = { openid: 'oprofile0', unionid: 'uprofile0' };
  let tokens = await bridge.login(http, identity);
  // Warm-up: JIT, caches (client, keys, config), first login of the user done above.
  for (let i = 0; i < 20; i += 1) {
    await bridge.discovery(http);
    await bridge.userinfo(http, tokens);
    tokens = await bridge.refresh(http, tokens);
    await bridge.appLogin(http, identity);
  }
  if (dev) {
    const proxy = processTree(server.pid).find((p) => p.role === 'workerd-proxy');
    inspectorUrl = proxy && (await workerInspectorUrl(proxy.pid));
  }
  if (!inspectorUrl) throw new Error('the worker inspector was not found');
  const devtools = await DevTools.connect(inspectorUrl);
  const result = await profileOperations(
    devtools,
    {
      discovery: () => bridge.discovery(http),
      jwks: () => bridge.jwks(http),
      userinfo: () => bridge.userinfo(http, tokens),
      refresh: async () => void (tokens = await bridge.refresh(http, tokens)),
      exchange: async () => void (await bridge.appLogin(http, identity)),
      login: async () => void (tokens = await bridge.login(http, identity)),
    },
    runs,
  );
  devtools.close();
  http.close();
  bridge.close();
  const target = dev ? 'wrangler dev (src/dev.ts, the sandbox inside)' : 'the production entry (src/index.ts) on Miniflare, WeChat fake apart';
  console.log(`profiled: ${target}`);
  for (const [op, summary] of Object.entries(result)) {
    console.log(`\n== ${op}: ${summary.jsMsPerOp} ms of worker JS per operation under the profiler (${summary.runs} runs)`);
    console.log('   by package / source file:');
    for (const owner of summary.byOwner) console.log(`     ${String(owner.share).padStart(5)}%  ${owner.name}`);
    console.log('   hottest frames:');
    for (const frame of summary.byFunction.slice(0, 10)) console.log(`     ${String(frame.share).padStart(5)}%  ${frame.name}`);
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'profile.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), target, runs, result }, null, 2)}\n`);
  console.log(`\nwrote ${join(outDir, 'profile.json')}`);
} catch (error) {
  console.error(error?.stack ?? error);
  for (const server of servers) if (server.output) console.error(server.output().slice(-2000));
  exitCode = 1;
} finally {
  for (const server of servers.reverse()) await server.stop();
  prepared?.remove();
  snapshot.remove();
  clearTimeout(watchdog);
}
process.exit(exitCode);
