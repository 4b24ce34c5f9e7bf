// Starting and stopping the two servers, and reading their CPU time.
//
// The bridge is started exactly as `npm start` starts it (scripts/start.mjs: local
// migrations, then `wrangler dev` of the development entry, src/dev.ts), isolated the way the end-to-end
// tests isolate it (test/e2e/support/provider.ts): a free port, a throwaway state
// directory (PERSIST_TO) and a throwaway secrets file (DEV_VARS), in its own process group.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { sleep } from './http.mjs';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A copy of what `npm start` builds and runs (src, migrations, scripts, wrangler.toml,
 * package.json, tsconfig.json; node_modules linked), and the bench's WeChat fake (bench/wechat), taken once at the start of a run.
 * `wrangler dev` watches its sources and reloads the worker when they change; measured
 * in place, a colleague's edit would swap the code (and the workerd process) mid-run.
 */
export function snapshotProject() {
  const dir = mkdtempSync(join(tmpdir(), 'wechat-oidc-snapshot-'));
  scratch.add(dir);
  for (const name of ['src', 'migrations', 'scripts', 'bench/wechat', 'wrangler.toml', 'package.json', 'tsconfig.json']) {
    if (existsSync(join(root, name))) cpSync(join(root, name), join(dir, name), { recursive: true });
  }
  liftRateLimits(join(dir, 'wrangler.toml'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The load comes from one address (loopback) at rates no person reaches, so the
 * snapshot lifts the rate limits (docs/protocol.md §9); their binding calls still run.
 */
function liftRateLimits(path) {
  writeFileSync(path, readFileSync(path, 'utf8').replace(/simple = \{ limit = \d+,/g, 'simple = { limit = 1000000,'));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const groupAlive = (pgid) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

const signalGroup = (pgid, signal) => {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone already
  }
};

/** Every process started here, so an exit or a signal can always clean up. */
const live = new Set();
/** Temporary state directories, removed on the way out whatever happens. */
const scratch = new Set();
export function killAllNow() {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  live.clear();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  scratch.clear();
}
process.on('exit', killAllNow);

async function stopGroup(pgid) {
  signalGroup(pgid, 'SIGTERM');
  for (let waited = 0; groupAlive(pgid) && waited < 10_000; waited += 100) await sleep(100);
  if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
  for (let waited = 0; groupAlive(pgid) && waited < 5_000; waited += 100) await sleep(100);
  live.delete(pgid);
}

async function waitUntilServing(url, exited, output, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = exited();
    if (status) throw new Error(`the server ${status} before serving\n${output()}`);
    if (/Build failed/.test(output())) throw new Error(`the worker did not build\n${output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`no answer at ${url} within ${timeoutMs / 1000} s\n${output()}`);
      await sleep(200);
    }
  }
}

/**
 * @returns {Promise<{issuer: string, pid: number, registrationToken: string, wechatApps: any[], output(): string, stop(): Promise<void>}>}
 */
export async function startBridge(options = {}) {
  // wrangler dev's inspector port (9229 and up) is chosen before it is bound: when other
  // wrangler processes start at the same moment (other test runs on this machine), workerd
  // can lose the race and exit with "Address already in use". That is not the bridge's
  // failure; start again, a few times.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startBridgeOnce(options);
    } catch (error) {
      if (attempt >= 4 || !/Address already in use/.test(String(error?.message))) throw error;
      await sleep(500 * attempt);
    }
  }
}

/**
 * A child in its own process group (so stopGroup ends its whole tree), tracked
 * for the exit handlers, with its output kept and how it ended, once it has.
 */
function spawnGroup(command, args, options, hint = '') {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child.pid);
  let output = '';
  let ended;
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  child.on('error', (error) => (ended = `failed: ${error.message} ${hint}`.trim()));
  child.on('exit', (code, signal) => (ended ??= `exited with ${signal ?? code}`));
  return { pid: child.pid, log: () => output, exited: () => ended };
}

async function startBridgeOnce({ startupMs = 90_000, projectDir = root } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wechat-oidc-bench-'));
  scratch.add(dir);
  const devVars = join(dir, 'dev.vars');
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const { pid, log, exited } = spawnGroup(process.execPath, ['scripts/start.mjs'], {
    cwd: projectDir,
    env: { ...process.env, PORT: String(port), PERSIST_TO: join(dir, 'state'), DEV_VARS: devVars },
  });
  let halted;
  /** Stops the processes and keeps the state (for a look at the database afterwards). */
  const halt = () => (halted ??= stopGroup(pid));
  let stopped;
  /** Stops the processes and deletes the state and the secrets file. */
  const stop = () =>
    (stopped ??= (async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
      scratch.delete(dir);
    })());
  try {
    await waitUntilServing(`http://127.0.0.1:${port}/.well-known/openid-configuration`, exited, log, startupMs);
  } catch (error) {
    await stop();
    throw error;
  }
  const vars = parseEnv(readFileSync(devVars, 'utf8'));
  return {
    issuer,
    pid,
    stateDir: join(dir, 'state'),
    registrationToken: vars.REGISTRATION_TOKEN ?? '',
    wechatApps: JSON.parse(vars.WECHAT_APPS ?? '[]'),
    output: log,
    halt,
    stop,
  };
}

/**
 * Debian's redis-server on a free loopback port, in a throwaway directory (its default
 * snapshotting stays on, as a production install has it), in its own process group.
 * @returns {Promise<{url: string, pid: number, stop(): Promise<void>}>}
 */
export async function startRedis({ startupMs = 10_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wechat-oidc-redis-'));
  scratch.add(dir);
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '3600 1 300 100 60 10000', '--appendonly', 'no'];
  const { pid, log, exited } = spawnGroup('redis-server', args, { cwd: dir }, '(apt-get install -y redis-server)');
  const deadline = Date.now() + startupMs;
  while (!/Ready to accept connections/.test(log())) {
    if (exited() || Date.now() > deadline) {
      await stopGroup(pid);
      throw new Error(`redis-server ${exited() ?? 'did not start'}\n${log()}`);
    }
    await sleep(50);
  }
  let stopped;
  return {
    url: `redis://127.0.0.1:${port}`,
    pid,
    stop: () =>
      (stopped ??= (async () => {
        await stopGroup(pid);
        rmSync(dir, { recursive: true, force: true });
        scratch.delete(dir);
      })()),
  };
}

/** node-oidc-provider in its own process (bench/peer/server.mjs); on Redis when `redisUrl` is given. */
/**
 * node-oidc-provider (bench/peer/server.mjs), on Redis when `redisUrl` is set; `wechat` is the
 * bench's WeChat fake ({origin, apps}: its URL and the WECHAT_APPS it knows).
 */
export async function startPeer({ startupMs = 30_000, redisUrl, wechat } = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'bench/peer/server.mjs')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      NODE_ENV: 'production',
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      ...(wechat ? { WECHAT_URL: wechat.origin, WECHAT_APPS: JSON.stringify(wechat.apps) } : {}),
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  live.add(pid);
  let log = '';
  let ready;
  const readyLine = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      log += chunk;
      const line = log.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line && !ready) resolve((ready = JSON.parse(line)));
    });
    child.stderr.on('data', (chunk) => (log += chunk));
    child.on('exit', (code, signal) => reject(new Error(`the peer exited with ${signal ?? code}\n${log}`)));
    setTimeout(() => reject(new Error(`the peer did not start within ${startupMs / 1000} s\n${log}`)), startupMs).unref();
  });
  let info;
  try {
    info = await readyLine;
  } catch (error) {
    await stopGroup(pid);
    throw error;
  }
  let stopped;
  return {
    issuer: info.issuer,
    pid,
    client: info.client,
    wechat: wechat?.origin,
    output: () => log,
    stop: () => (stopped ??= stopGroup(pid)),
  };
}

// --- CPU accounting -----------------------------------------------------------

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64 and arm64

/**
 * utime + stime of one process (all its threads), in ms, from /proc/<pid>/stat; undefined if gone.
 * `children`: plus cutime + cstime, the CPU of its children that exited (redis-server's
 * background saves are forked children).
 */
export function cpuMs(pid, { children = false } = {}) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: the fields after it start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15, cutime 16, cstime 17.
    const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
    return (ticks * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The process tree under `rootPid` (included), each with a role name. */
export function processTree(rootPid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(pid);
  }
  const out = [];
  const walk = (pid) => {
    out.push({ pid, role: roleOf(pid, commandOf(pid)) });
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(rootPid);
  return out;
}

function roleOf(pid, argv) {
  const exe = argv[0] ?? '';
  if (/workerd$/.test(exe)) {
    // wrangler dev runs two workerd instances: the proxy on the public port, and the user worker.
    const entry = argv.find((arg) => arg.startsWith('--socket-addr=entry='));
    return entry && !entry.endsWith(':0') ? 'workerd-proxy' : 'workerd-worker';
  }
  if (/esbuild$/.test(exe)) return 'esbuild';
  if (argv.some((arg) => arg.endsWith('wrangler-dist/cli.js'))) return 'wrangler-node';
  if (argv.some((arg) => arg.endsWith('bin/wrangler.js'))) return 'wrangler-launcher';
  if (argv.some((arg) => arg.endsWith('scripts/start.mjs'))) return 'start-script';
  if (argv.some((arg) => arg.endsWith('peer/server.mjs'))) return 'oidc-provider';
  if (/redis-server/.test(exe)) return 'redis-server';
  return `other:${pid}`;
}

/** CPU ms per role for a list of processes; pids that exited count as 0. */
export function cpuByRole(processes) {
  const out = {};
  for (const { pid, role, children } of processes) out[role] = (out[role] ?? 0) + (cpuMs(pid, { children }) ?? 0);
  return out;
}

export function diffRoles(after, before) {
  const out = {};
  for (const role of Object.keys(after)) out[role] = after[role] - (before[role] ?? 0);
  return out;
}
