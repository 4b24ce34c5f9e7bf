// The bridge without `wrangler dev` around it: the worker bundled once (as `wrangler deploy`
// bundles it, from the development entry src/dev.ts so the WeChat sandbox is there), served
// by Miniflare's API directly: one workerd process, no wrangler proxy in front, no request
// logger, no file watcher. The bindings are the ones wrangler derives from wrangler.toml
// (unstable_getMiniflareWorkerOptions: D1, KV, queues, rate limits as the snapshot lifted
// them); the D1 database, in a throwaway state directory, gets migrations/*.sql through
// Miniflare's D1 API (the statements `wrangler d1 migrations apply` runs, without a
// wrangler process per run).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * Bundles src/dev.ts once and writes the secrets (scripts/dev-vars.mjs, as `npm start`
 * writes them); every Miniflare instance of a run (the measured one, the cold starts)
 * starts from this bundle, on a state directory from newState().
 */
export async function prepareDirect(projectDir = root) {
  const dir = mkdtempSync(join(tmpdir(), 'wechat-oidc-direct-'));
  const out = join(dir, 'bundle');
  await wrangler(projectDir, ['deploy', '--dry-run', '--outdir', out, 'src/dev.ts']);
  const entry = readdirSync(out).find((name) => /\.m?js$/.test(name));
  if (!entry) throw new Error(`no bundle in ${out}`);
  const { vars } = await ensureDevVars(join(dir, 'dev.vars'));
  const { unstable_getMiniflareWorkerOptions } = await import(pathToFileURL(join(wranglerDir(projectDir), 'wrangler-dist/cli.js')).href);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(projectDir, 'wrangler.toml'));
  return {
    dir,
    scriptPath: join(out, entry),
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
 * One Miniflare instance serving the bundle on a free loopback port.
 * @returns {Promise<{issuer: string, pid: number, registrationToken: string, wechatApps: any[], readyMs: number, readyCpuMs: number, stop(): Promise<void>}>}
 */
export async function startDirect(prepared, state, { migrate = false, projectDir = root } = {}) {
  const { Miniflare } = await miniflareModule(projectDir);
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const before = new Set(processTree(process.pid).map((p) => p.pid));
  const t0 = process.hrtime.bigint();
  const mf = new Miniflare({
    ...prepared.workerOptions,
    name: 'wechat-oidc-bridge',
    modules: true,
    scriptPath: prepared.scriptPath,
    modulesRoot: dirname(prepared.scriptPath),
    bindings: { ...prepared.vars, ISSUER: issuer },
    host: '127.0.0.1',
    port,
    d1Persist: join(state, 'v3', 'd1'),
    kvPersist: join(state, 'v3', 'kv'),
    cachePersist: false,
  });
  await mf.ready;
  const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const workerd = processTree(process.pid).find((p) => !before.has(p.pid) && p.role.startsWith('workerd'));
  if (!workerd) {
    await mf.dispose();
    throw new Error("Miniflare's workerd process was not found");
  }
  if (migrate) {
    const db = await mf.getD1Database('DB');
    for (const migration of prepared.migrations) {
      const statements = migration.split('--> statement-breakpoint').map((text) => text.trim()).filter(Boolean);
      await db.batch(statements.map((text) => db.prepare(text)));
    }
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
    issuer,
    pid: workerd.pid,
    readyMs,
    registrationToken: prepared.vars.REGISTRATION_TOKEN ?? '',
    wechatApps: JSON.parse(prepared.vars.WECHAT_APPS ?? '[]'),
    stop: () =>
      (stopped ??= mf.dispose().finally(() => process.off('exit', kill))),
  };
}
