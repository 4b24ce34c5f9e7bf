/**
 * Starts the provider exactly as `npm start` does (scripts/start.mjs: migrations, then
 * `wrangler dev` of the development entry, src/dev.ts), isolated from the developer's own setup: a free
 * port, a throwaway state directory (PERSIST_TO) and a throwaway secrets file (DEV_VARS),
 * so the repository's `.dev.vars` and `.wrangler/state` are never read or written.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';

export interface WeChatApp {
  appid: string;
  secret: string;
  kind: 'app' | 'miniprogram' | 'officialaccount' | 'website';
}

export interface Provider {
  issuer: string;
  registrationToken: string;
  /** The sandbox WeChat apps the start script generated. */
  wechatApps: WeChatApp[];
  /** The secrets file the start script used, outside the repository. */
  devVarsPath: string;
  /** The process group of the start script and everything it started. */
  pgid: number;
  /** Everything the start script and wrangler printed so far. */
  output(): string;
  /** Stops the whole process group (node, wrangler, workerd, esbuild) and deletes the state. */
  stop(): Promise<void>;
}

const root = fileURLToPath(new URL('../../..', import.meta.url));
/**
 * How long one start may take until the worker answers its discovery document as this
 * issuer. Migrations, esbuild and workerd together take 10–20 s on an idle 2-core machine
 * and several times that on a loaded one; a deadline, not a sleep, so a quick start is quick.
 */
const STARTUP_MS = 180_000;
/** One readiness probe: wrangler's proxy holds the first requests until the worker is loaded. */
const PROBE_MS = 15_000;
/**
 * Starts that lost a port to another process before wrangler could bind it are tried again.
 * Such a start fails within seconds; several `wrangler dev` starting and stopping at once on
 * one machine (parallel CI jobs) can make it happen more than once in a row.
 */
const MAX_STARTS = 8;

/** Whether `host:port` can be listened on right now (an absent address family counts as free). */
function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT'));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port that is free on 127.0.0.1 (where wrangler binds) and on ::1 (where a client may
 * try `localhost` first). It is only free now: wrangler binds it seconds later, after the
 * migrations, so another process can take it in between. startProvider then starts again.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
      });
    });
    if (await canListen(port, '::1')) return port;
  }
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface StartOptions {
  /** Content of the secrets file before the start, as a developer's own `.dev.vars` would be. */
  devVars?: string;
  /**
   * The path polled until the provider answers (default: discovery). Whatever it touches
   * is warm before the test's own first request; a path nothing is cached for leaves the
   * isolate cold.
   */
  probe?: string;
}

/** A start that failed because a port it needed was taken by another process in the meantime. */
class PortTaken extends Error {}

/**
 * Starts `npm start` on a free port and waits until it serves. Two ports can be lost to a
 * race, neither of them the test's fault: the HTTP port (free when chosen, bound by
 * wrangler only after the migrations) and wrangler's inspector port (9229 by default,
 * probed by wrangler and then bound by workerd, shared with every other `wrangler dev`
 * on the machine). Either way wrangler exits saying the address is in use; then the
 * whole start is repeated from scratch: a new port, a new state directory, the same
 * secrets file content.
 */
export async function startProvider(options: StartOptions = {}): Promise<Provider> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= MAX_STARTS) throw error;
      console.warn(`startProvider: ${error.message.split('\n')[0]}; starting again (attempt ${attempt + 1} of ${MAX_STARTS})`);
    }
  }
}

async function startOnce(options: StartOptions): Promise<Provider> {
  const dir = mkdtempSync(join(tmpdir(), 'wechat-oidc-e2e-'));
  const devVars = join(dir, 'dev.vars');
  if (options.devVars !== undefined) writeFileSync(devVars, options.devVars, { mode: 0o600 });
  const port = await freePort();
  const issuer = `http://localhost:${port}`;

  // detached: its own process group, so stop() reaches wrangler's and workerd's processes too.
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), PERSIST_TO: join(dir, 'state'), DEV_VARS: devVars },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error('could not spawn scripts/start.mjs');
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk));
  child.stderr.on('data', (chunk: Buffer) => (log += chunk));
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  // A crashed test run must not leave workerd behind.
  const killOnExit = () => signalGroup(pgid, 'SIGKILL');
  process.on('exit', killOnExit);

  /** Waits (up to `ms`) until no process of the group is left. */
  const groupGone = async (ms: number) => {
    for (const deadline = Date.now() + ms; groupAlive(pgid) && Date.now() < deadline; ) await sleep(100);
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      signalGroup(pgid, 'SIGTERM');
      // wrangler shuts workerd down gracefully; on a loaded machine that can take a while.
      await groupGone(30_000);
      if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
      // Killed processes are gone once they are reaped (the start script by us, the rest by init).
      await groupGone(30_000);
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    await waitUntilServing(issuer, options.probe ?? DISCOVERY, () => exited, () => log, STARTUP_MS);
  } catch (error) {
    const exitedByItself = exited !== undefined;
    await stop(); // also lets the last of the output arrive
    const message = `${(error as Error).message}\n--- provider output ---\n${log}`;
    // wrangler's own words for EADDRINUSE, on the HTTP port or the inspector port.
    const taken = exitedByItself && /Address already in use \(([^)]*)\)|EADDRINUSE/i.exec(log);
    if (taken) throw new PortTaken(`${taken[1] ?? 'an address'} was taken before wrangler could bind it\n${message}`);
    throw new Error(message);
  }

  const vars = parseEnv(readFileSync(devVars, 'utf8'));
  return {
    issuer,
    registrationToken: vars.REGISTRATION_TOKEN ?? '',
    wechatApps: JSON.parse(vars.WECHAT_APPS ?? '[]') as WeChatApp[],
    devVarsPath: devVars,
    pgid,
    output: () => log,
    stop,
  };
}

const DISCOVERY = '/.well-known/openid-configuration';

function parsed(text: string): Record<string, unknown> | undefined {
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits until this start's worker answers `probe`: not wrangler's proxy still loading
 * it, and not another process that took the port. Discovery must answer 200 and name
 * this issuer; any other probe (one that warms nothing) the worker's own JSON. The
 * tests judge the rest.
 */
async function waitUntilServing(
  issuer: string,
  probe: string,
  exited: () => string | undefined,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const url = `${issuer}${probe}`;
  let last = 'no answer yet';
  for (;;) {
    const status = exited();
    if (status) throw new Error(`the provider ${status} before serving`);
    // wrangler dev waits for a source change after a failed build: no point waiting.
    if (/Build failed/.test(output())) throw new Error('the worker did not build');
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, Math.min(PROBE_MS, deadline - Date.now()))) });
      const text = await response.text();
      last = `${response.status} ${text.slice(0, 200)}`;
      const body = parsed(text);
      if (probe === DISCOVERY ? response.status === 200 && body?.issuer === issuer : body !== undefined) return;
    } catch (error) {
      last = String((error as Error).cause ?? error);
    }
    if (Date.now() >= deadline) throw new Error(`the provider did not serve ${url} within ${timeoutMs / 1000} s (last: ${last})`);
    await sleep(250);
  }
}
