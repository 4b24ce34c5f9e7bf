/**
 * An example as its README runs it: `npm run register` (examples/register.mjs, here writing
 * to a throwaway .env outside the example's folder), then `npm start` (its server.js) with
 * that .env in the environment, on a free port of 127.0.0.1. The provider is the one the
 * global setup started (global-setup.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { inject } from 'vitest';
import { examplesRoot, type Example } from './paths.ts';

export const issuer = inject('issuer');
export const registrationToken = inject('registrationToken');
export const adminToken = inject('adminToken');

/** How long an example's server may take to answer its first request. */
const STARTUP_MS = 60_000;

export interface RunningExample {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** The .env that `npm run register` wrote. */
  env: Record<string, string>;
  /** Everything the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs a node script in the example's folder to its end; resolves with its output, rejects on a failure. */
export function run(example: Example, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: join(examplesRoot, example), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`node ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}

/** `npm run register` for the example, for a server at `baseUrl`; returns the .env it wrote. */
export async function register(example: Example, baseUrl: string): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), `example-${example}-`));
  try {
    const envFile = join(dir, '.env');
    const output = await run(example, ['../register.mjs', example], { ISSUER: issuer, REGISTRATION_TOKEN: registrationToken, BASE_URL: baseUrl, ENV_FILE: envFile });
    const env = parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>;
    if (!output.includes(`Registered client ${env.CLIENT_ID}`)) throw new Error(`register.mjs said: ${output}`);
    return env;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Registers the example and starts its server; resolves once it answers `probe`. */
export async function startExample(example: Example, probe = '/'): Promise<RunningExample> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = await register(example, baseUrl);
  const child = spawn(process.execPath, ['server.js'], {
    cwd: join(examplesRoot, example),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk));
  child.stderr.on('data', (chunk: Buffer) => (log += chunk));
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (exited !== undefined) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });

  for (const deadline = Date.now() + STARTUP_MS; ; ) {
    if (exited) throw new Error(`examples/${example} ${exited} before serving:\n${log}`);
    try {
      await fetch(`${baseUrl}${probe}`, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`examples/${example} did not answer ${probe} within ${STARTUP_MS / 1000} s (${String(error)}):\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return { baseUrl, env, output: () => log, stop };
}

/** The admin API's view of a user (docs/protocol.md §11), by unionid. */
export async function userByUnionid(unionid: string): Promise<{ sub: string; grants: { client_id: string; sub: string; scope: string }[] }> {
  const response = await fetch(`${issuer}/admin/users?unionid=${encodeURIComponent(unionid)}`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (response.status !== 200) throw new Error(`GET /admin/users?unionid=: ${response.status} ${await response.text()}`);
  return (await response.json()) as { sub: string; grants: { client_id: string; sub: string; scope: string }[] };
}
