/**
 * oidc-agent (Debian's `oidc-agent-cli`, a command-line OIDC client nobody
 * here wrote) against the provider as `npm start` runs it: its dynamic
 * registration with the initial access token (docs/protocol.md §3, RFC 7591),
 * its device flow (RFC 8628) approved through the mini program's handoff
 * (§5), and `oidc-token` printing an access token that userinfo accepts (§7).
 * Then client management (RFC 7592) with the registration access token
 * oidc-agent was given: reading the client, and deleting it, after which its
 * tokens stop working.
 *
 * The agent runs with a home, configuration directory and socket of its own
 * under a temporary directory: nothing touches the user's. `.ci/run` installs
 * the package where it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { approveLogin } from './support/mini-program.ts';
import { startProvider, type Provider } from './support/provider.ts';

const ACCOUNT = 'bridge';
const WAIT_MS = 60_000;

let provider: Provider;
let dir: string;
let agent: ChildProcess | undefined;
let env: NodeJS.ProcessEnv;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + WAIT_MS; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Runs one oidc-agent command to its end; its exit status and what it printed. */
function run(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { env, encoding: 'utf8', timeout: WAIT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  // Installed by .ci/run (Debian's oidc-agent-cli); a missing one fails here, loudly.
  expect(spawnSync('oidc-gen', ['--version']).status, 'oidc-gen is not installed: apt-get install -y oidc-agent-cli').toBe(0);
  provider = await startProvider();
  dir = mkdtempSync(join(tmpdir(), 'wechat-oidc-agent-'));
  for (const sub of ['home', 'config']) mkdirSync(join(dir, sub));
  const socket = join(dir, 'agent.sock');
  const { OIDC_SOCK: _sock, OIDCD_PID: _pid, ...rest } = process.env;
  env = {
    ...rest,
    HOME: join(dir, 'home'),
    OIDC_CONFIG_DIR: join(dir, 'config'),
    TMPDIR: dir,
    OIDC_SOCK: socket,
    // Read by `--pw-env`: the password oidc-gen encrypts the account configuration with.
    OIDC_ENCRYPTION_PW: 'e2e-encryption-password',
  };
  // On the console (-d), not daemonized: it stays our child, and stops with it.
  agent = spawn('oidc-agent', ['-d', '--quiet', '-a', socket], { env, stdio: 'ignore' });
  await until('the agent socket', () => existsSync(socket));
});

afterAll(async () => {
  agent?.kill('SIGTERM');
  await provider?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`--- provider output (tail) ---\n${provider.output().slice(-4000)}`));
});

describe('oidc-agent against `npm start`', () => {
  let accessToken: string;
  let registered: Record<string, unknown>;

  it('registers itself, logs in by the device flow approved in the mini program, and oidc-token prints an access token userinfo accepts', async () => {
    const gen = spawn(
      'oidc-gen',
      [
        ACCOUNT,
        `--iss=${provider.issuer}/`,
        `--at=${provider.registrationToken}`,
        '--flow=device',
        '--scope=openid profile offline_access',
        // Its default redirect URIs include a private-use scheme, which RFC 8252 §7.1 leaves to
        // native apps; oidc-agent registers as a web client. The device flow uses none of them.
        '--redirect-uri=http://localhost:8080',
        '--pw-env',
        '--prompt=none',
        '--confirm-default',
        '--no-url-call',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    gen.stdout!.on('data', (chunk: Buffer) => (output += chunk));
    gen.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => gen.on('exit', resolve));

    // RFC 8628 §3.3: what a person is shown; the user code is the login the mini program approves.
    await until('the user code', () => /enter the code: [A-Z]{4}-[A-Z]{4}/.test(output) || gen.exitCode !== null);
    const userCode = /enter the code: ([A-Z]{4}-[A-Z]{4})/.exec(output)?.[1];
    expect(userCode, output).toBeDefined();
    expect(output).toContain(`${provider.issuer}/device`);

    const pending = await fetch(`${provider.issuer}/wechat/handoff/${userCode}`);
    expect(await pending.json()).toMatchObject({ kind: 'device', client_name: expect.stringMatching(/^oidc-agent:bridge/), scopes: ['openid', 'profile', 'offline_access'] });
    await approveLogin(provider.issuer, userCode!);
    expect(await exited, output).toBe(0);
    expect(output).toContain('Everything setup correctly!');

    // oidc-gen shows the registration response it keeps: RFC 7592's credentials included.
    const shown = /\{\s*"client_id"[\s\S]*?\n\}/.exec(output)?.[0];
    expect(shown, output).toBeDefined();
    registered = JSON.parse(shown!) as Record<string, unknown>;
    expect(registered).toMatchObject({
      grant_types: ['refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      registration_client_uri: `${provider.issuer}/register/${registered.client_id}`,
      registration_access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });

    const token = run('oidc-token', [ACCOUNT]);
    expect(token.status, token.stderr).toBe(0);
    accessToken = token.stdout.trim();
    expect(accessToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const userinfo = await fetch(`${provider.issuer}/userinfo`, { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ sub: expect.any(String) });
  });

  it('RFC 7592 with the registration access token oidc-agent was given: reads its client, deletes it, and its tokens stop working', async () => {
    const headers = { Authorization: `Bearer ${String(registered.registration_access_token)}` };
    const uri = String(registered.registration_client_uri);
    const read = await fetch(uri, { headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ client_id: registered.client_id, client_name: registered.client_name });

    expect((await fetch(uri, { method: 'DELETE', headers })).status).toBe(204);
    expect((await fetch(`${provider.issuer}/userinfo`, { headers: { Authorization: `Bearer ${accessToken}` } })).status).toBe(401);
    // A fresh token needs the refresh token of a client that is gone.
    const again = run('oidc-token', ['--force-new', ACCOUNT]);
    expect(again.status, again.stdout).not.toBe(0);
    expect((await fetch(uri, { headers })).status).toBe(401);
  });
});
