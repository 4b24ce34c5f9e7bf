// The bridge in production shape, without `wrangler dev` around it, and the WeChat fake beside it.
//
// - The bridge: the PRODUCTION entry (src/index.ts, `main` in wrangler.toml: no sandbox, WeChat
//   reached with fetch) bundled once as `wrangler deploy --dry-run` bundles it (minified, as
//   deployed), served by Miniflare's API: one workerd process, no wrangler proxy, no request
//   logger, no file watcher. Requests reach the worker on a direct socket of workerd
//   (`unsafeDirectSockets`), not through Miniflare's entry worker (its router and proxy), with
//   `CF-Connecting-IP` set by the client as Cloudflare's edge sets it. The bindings are the ones
//   wrangler derives from wrangler.toml (unstable_getMiniflareWorkerOptions: D1, KV, queues,
//   rate limits as the snapshot lifted them); the D1 database, in a throwaway state directory,
//   gets migrations/*.sql through Miniflare's D1 API (the statements `wrangler d1 migrations
//   apply` runs). The worker's outbound fetches (the production WeChat client's requests to
//   https://api.weixin.qq.com) all go to the WeChat fake's socket (`outboundService`, an
//   external HTTP server): the same requests, answered by the fake instead of WeChat.
// - Storage: D1 and KV are services apart from the worker in production (another machine, not
//   the worker's thread). Miniflare simulates them inside the worker's own workerd, on its one
//   thread, where no reading of /proc can tell their CPU from the worker's. startStorage() runs
//   them in a workerd of their own: Miniflare's own D1 and KV simulators (the same Durable
//   Objects, the same SQLite files), each reached on a socket through a one-line gateway worker
//   bound to its object; the bridge's workerd then has no D1 or KV simulator in it, and its D1 and KV
//   bindings (the same workerd bindings, the same wire requests) go over loopback HTTP to that
//   socket. Its CPU is reported apart, as storage.
// - The WeChat fake: bench/wechat/worker.mjs (the development sandbox's fake of WeChat's API and
//   its code mint) bundled the same way and served by a second Miniflare, a workerd process of
//   its own, with its own KV, so that its CPU is counted apart from the bridge's.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDevVars } from '../../scripts/dev-vars.mjs';
import { runWrangler } from './bundle.mjs';
import { freePort, processTree, root } from './servers.mjs';

const wranglerDir = (projectDir) => resolve(projectDir, 'node_modules/wrangler');

const wrangler = (projectDir, args, env = {}, timeoutMs = 90_000) => runWrangler(args, projectDir, { env, timeoutMs });

async function miniflareModule(projectDir) {
  return import(pathToFileURL(join(wranglerDir(projectDir), 'node_modules/miniflare/dist/src/index.js')).href);
}

/** `wrangler deploy --dry-run` of `entry` (the wrangler.toml `main` when undefined): the path of the bundled script (a source map beside it). */
async function bundle(projectDir, out, entry) {
  await wrangler(projectDir, ['deploy', '--dry-run', '--outdir', out, '--upload-source-maps', ...(entry ? [entry] : [])]);
  const script = readdirSync(out).find((name) => /\.m?js$/.test(name));
  if (!script) throw new Error(`no bundle in ${out}`);
  return join(out, script);
}

/** The address a request's `CF-Connecting-IP` names: what Cloudflare's edge sets for the bench's loopback client. */
export const CLIENT_ADDRESS = '127.0.0.1';

/**
 * Bundles src/index.ts (the production entry) and the WeChat fake once, and writes the
 * secrets (scripts/dev-vars.mjs, as `npm start` writes them); every Miniflare instance of a
 * run (the measured one, the cold starts) starts from these bundles, on a state directory
 * from newState().
 */
export async function prepareDirect(projectDir = root) {
  // The local D1 and KV stand in for services that are not on the worker's machine in
  // production, and the peer's Redis keeps its data in memory: their files go to a memory
  // file system when there is one, so that no side waits on this machine's disk.
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'wechat-oidc-direct-'));
  const [scriptPath, wechatScriptPath] = await Promise.all([
    bundle(projectDir, join(dir, 'bundle')),
    bundle(projectDir, join(dir, 'wechat'), 'bench/wechat/worker.mjs'),
  ]);
  const { vars } = await ensureDevVars(join(dir, 'dev.vars'));
  const { unstable_getMiniflareWorkerOptions } = await import(pathToFileURL(join(wranglerDir(projectDir), 'wrangler-dist/cli.js')).href);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(projectDir, 'wrangler.toml'));
  return {
    dir,
    scriptPath,
    wechatScriptPath,
    vars,
    workerOptions,
    /** A fresh state directory (wrangler's layout: <state>/v3/d1, <state>/v3/kv); startDirect migrates it. */
    newState: () => mkdtempSync(join(dir, 'state-')),
    migrations: readdirSync(join(projectDir, 'migrations'))
      .filter((name) => name.endsWith('.sql'))
      .sort()
      .map((name) => readFileSync(join(projectDir, 'migrations', name), 'utf8')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * One Miniflare instance: `options` plus a direct socket on a free loopback port. Resolves
 * once workerd is up, with its pid (the only process whose CPU is this instance's).
 */
async function startInstance(projectDir, name, options) {
  const { Miniflare } = await miniflareModule(projectDir);
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const before = new Set(processTree(process.pid).map((p) => p.pid));
  const t0 = process.hrtime.bigint();
  const mf = new Miniflare({
    ...options(origin),
    name,
    host: '127.0.0.1',
    // Miniflare's own entry socket (its router, in the same workerd) on any free port: nothing
    // of the bench calls it. The worker is served on the direct socket below.
    port: 0,
    unsafeDirectSockets: [{ host: '127.0.0.1', port }],
    cachePersist: false,
  });
  await mf.ready;
  const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const workerd = processTree(process.pid).find((p) => !before.has(p.pid) && p.role.startsWith('workerd'));
  if (!workerd) {
    await mf.dispose();
    throw new Error(`${name}: Miniflare's workerd process was not found`);
  }
  // If the bench dies without dispose() (its watchdog, a signal), the workerd must not outlive it.
  const kill = () => {
    try {
      process.kill(workerd.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  };
  process.on('exit', kill);
  let stopped;
  return {
    mf,
    origin,
    port,
    pid: workerd.pid,
    readyMs,
    stop: () => (stopped ??= mf.dispose().finally(() => process.off('exit', kill))),
  };
}

/**
 * The WeChat fake in a workerd of its own, its KV in memory (it stands in for WeChat, whose
 * speed is not what is measured). Start it before the bridge: the bridge's outbound fetches go
 * to its port.
 * @returns {Promise<{issuer: string, origin: string, port: number, pid: number, stop(): Promise<void>}>}
 */
export async function startWeChat(prepared, { projectDir = root } = {}) {
  const instance = await startInstance(projectDir, 'wechat-fake', (origin) => ({
    modules: true,
    scriptPath: prepared.wechatScriptPath,
    modulesRoot: dirname(prepared.wechatScriptPath),
    compatibilityDate: prepared.workerOptions.compatibilityDate,
    compatibilityFlags: prepared.workerOptions.compatibilityFlags,
    // The sandbox reads the WeChat apps (and checks the rest) through the bridge's own config parser.
    bindings: { ...prepared.vars, ISSUER: origin },
    kvNamespaces: ['KV'],
    kvPersist: false,
  }));
  return { ...instance, issuer: instance.origin };
}

/** The id of the one database (namespace) the worker options name, as a string. */
function onlyId(record, what) {
  const entries = Object.values(record ?? {});
  if (entries.length !== 1) throw new Error(`storage apart: the bench expects one ${what}, wrangler.toml has ${entries.length}`);
  return typeof entries[0] === 'string' ? entries[0] : entries[0].id;
}

/**
 * Runs `start` with some of Miniflare's plugin methods replaced. Miniflare builds a workerd
 * config from its plugins (D1_PLUGIN, KV_PLUGIN: exported, and the objects its config builder
 * calls); the replacement holds for the construction of one instance only (the bench starts its
 * instances one after the other).
 */
async function withPlugins(replacements, start) {
  const saved = replacements.map(([plugin, method]) => [plugin, method, plugin[method]]);
  for (const [plugin, method, replace] of replacements) {
    const original = plugin[method];
    plugin[method] = function (...args) {
      return replace.call(this, original.bind(this), ...args);
    };
  }
  try {
    return await start();
  } finally {
    for (const [plugin, method, original] of saved) plugin[method] = original;
  }
}

/**
 * Takes every request to the one Durable Object that simulates a D1 database or a KV namespace in
 * Miniflare (what Miniflare's own entry worker for it does, one isolate hop fewer).
 */
const GATEWAY = 'export default { fetch: (request, env) => env.OBJECT.get(env.OBJECT.idFromName(env.NAME)).fetch(request, { cf: { miniflare: { name: env.NAME } } }) };';

/**
 * D1 and KV in a workerd of their own, on `state` (the layout wrangler uses, as startDirect
 * would have used it): Miniflare's D1 and KV simulators (Durable Objects over SQLite files), each
 * reached on a direct socket through a gateway worker bound to its object. migrate: applies
 * migrations/*.sql through Miniflare's D1 API.
 * @returns {Promise<{d1: number, kv: number, pid: number, d1Id: string, kvId: string, stop(): Promise<void>}>}
 */
export async function startStorage(prepared, state, { migrate = false, projectDir = root } = {}) {
  const miniflare = await miniflareModule(projectDir);
  const d1Id = onlyId(prepared.workerOptions.d1Databases, 'D1 database');
  const kvId = onlyId(prepared.workerOptions.kvNamespaces, 'KV namespace');
  const [d1, kv] = [await freePort(), await freePort()];
  const common = { modules: true, script: GATEWAY, compatibilityDate: prepared.workerOptions.compatibilityDate };
  // The gateway's bindings: the simulator's object namespace and the name of its one object.
  const gateway = (serviceName, className, name) => [
    { name: 'OBJECT', durableObjectNamespace: { serviceName, className } },
    { name: 'NAME', text: name },
  ];
  const instance = await withPlugins(
    [
      // The D1 gateway keeps its database binding as well, for the migrations.
      [miniflare.D1_PLUGIN, 'getBindings', async (original, options) => [...(await original(options)), ...(options.d1Databases ? gateway('d1:db', 'D1DatabaseObject', d1Id) : [])]],
      [miniflare.KV_PLUGIN, 'getBindings', async (original, options) => (options.kvNamespaces ? gateway('kv:ns', 'KVNamespaceObject', kvId) : original(options))],
    ],
    () =>
      startInstance(projectDir, 'storage', () => ({
        d1Persist: join(state, 'v3', 'd1'),
        kvPersist: join(state, 'v3', 'kv'),
        workers: [
          { ...common, name: 'd1', d1Databases: { DB: d1Id }, unsafeDirectSockets: [{ host: '127.0.0.1', port: d1 }] },
          { ...common, name: 'kv', kvNamespaces: { KV: kvId }, unsafeDirectSockets: [{ host: '127.0.0.1', port: kv }] },
        ],
      })),
  );
  if (migrate) await applyMigrations(await instance.mf.getD1Database('DB', 'd1'), prepared.migrations);
  return { d1, kv, d1Id, kvId, pid: instance.pid, stop: instance.stop };
}

async function applyMigrations(db, migrations) {
  for (const migration of migrations) {
    const statements = migration.split('--> statement-breakpoint').map((text) => text.trim()).filter(Boolean);
    await db.batch(statements.map((text) => db.prepare(text)));
  }
}

/**
 * The bridge's production entry on Miniflare, its outbound fetches sent to `wechat` (startWeChat);
 * with `storage` (startStorage), its D1 and KV bindings reach that workerd instead of simulators
 * of its own (then `migrate` is the storage's business).
 * @returns {Promise<{issuer: string, pid: number, registrationToken: string, wechatApps: any[], wechat: string, headers: Record<string, string>, readyMs: number, stop(): Promise<void>}>}
 */
export async function startDirect(prepared, state, { wechat, storage, migrate = false, projectDir = root, inspectorPort } = {}) {
  if (!wechat) throw new Error('startDirect: the WeChat fake (startWeChat) must be running');
  const miniflare = await miniflareModule(projectDir);
  const external = (name, port) => async () => [{ name, external: { address: `127.0.0.1:${port}`, http: {} } }];
  const remote = storage
    ? [
        [miniflare.D1_PLUGIN, 'getServices', external(`d1:db:${storage.d1Id}`, storage.d1)],
        [miniflare.KV_PLUGIN, 'getServices', external(`kv:ns:${storage.kvId}`, storage.kv)],
      ]
    : [];
  const instance = await withPlugins(remote, () => startInstance(projectDir, 'wechat-oidc-bridge', (origin) => ({
    ...prepared.workerOptions,
    modules: true,
    scriptPath: prepared.scriptPath,
    modulesRoot: dirname(prepared.scriptPath),
    bindings: { ...prepared.vars, ISSUER: origin },
    d1Persist: join(state, 'v3', 'd1'),
    kvPersist: join(state, 'v3', 'kv'),
    // Every outbound fetch of the worker (its WeChat client's, to https://api.weixin.qq.com/...)
    // goes, as plain HTTP with the same path, query and Host, to the fake's socket.
    outboundService: { external: { address: `127.0.0.1:${wechat.port}`, http: {} } },
    // Miniflare otherwise puts a JavaScript worker of its own in front of every outbound fetch
    // (it strips CF-Connecting-IP, which Cloudflare does outside the isolate); the WeChat
    // client's requests never carry that header.
    stripCfConnectingIp: false,
    ...(inspectorPort ? { inspectorPort } : {}),
  })));
  if (migrate && !storage) await applyMigrations(await instance.mf.getD1Database('DB'), prepared.migrations);
  return {
    issuer: instance.origin,
    pid: instance.pid,
    readyMs: instance.readyMs,
    registrationToken: prepared.vars.REGISTRATION_TOKEN ?? '',
    wechatApps: JSON.parse(prepared.vars.WECHAT_APPS ?? '[]'),
    /** Where the clients mint WeChat codes (the fake's /sandbox/wechat/codes). */
    wechat: wechat.origin,
    /** Sent with every request, as Cloudflare's edge would add it (the rate limiters key on it). */
    headers: { 'CF-Connecting-IP': CLIENT_ADDRESS },
    stop: instance.stop,
  };
}
