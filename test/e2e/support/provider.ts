/**
 * Starts the provider exactly as `npm start` does (scripts/start.mjs: migrations, then
 * `wrangler dev` with the sandbox on), isolated from the developer's own setup: a free
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
  kind: 'app' | 'miniprogram';
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
const STARTUP_MS = 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
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

export async function startProvider(options: StartOptions = {}): Promise<Provider> {
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

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      signalGroup(pgid, 'SIGTERM');
      for (let waited = 0; groupAlive(pgid) && waited < 10_000; waited += 100) await sleep(100);
      if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
      for (let waited = 0; groupAlive(pgid) && waited < 5_000; waited += 100) await sleep(100);
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    await waitUntilServing(`${issuer}${options.probe ?? '/.well-known/openid-configuration'}`, () => exited, () => log, STARTUP_MS);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- provider output ---\n${log}`);
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

/** Any HTTP answer at `url` means the worker is up; the tests judge its content. */
async function waitUntilServing(
  url: string,
  exited: () => string | undefined,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = exited();
    if (status) throw new Error(`the provider ${status} before serving`);
    // wrangler dev waits for a source change after a failed build: no point waiting.
    if (/Build failed/.test(output())) throw new Error('the worker did not build');
    try {
      await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`the provider did not answer ${url} within ${timeoutMs / 1000} s`);
      await sleep(250);
    }
  }
}
