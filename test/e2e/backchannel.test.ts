/**
 * Telling relying parties (docs/protocol.md §10) against the provider as `npm start`
 * runs it, through the real Queues consumer of `wrangler dev`: a relying party that
 * registered a backchannel_logout_uri logs a user in through the browser flow, the user
 * logs out through the end_session_endpoint, and the relying party verifies the
 * logout token it receives with jose against jwks_uri (Back-Channel Logout 1.0 §2.6).
 * A webhook receiver verifies the deliveries of a sandbox login with the
 * `standardwebhooks` package.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { approveLogin } from './support/mini-program.ts';
import { startProvider, type Provider } from './support/provider.ts';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A small HTTP server on 127.0.0.1 that records every POST and answers 200. */
async function listen(): Promise<{ server: Server; origin: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return { server, origin: `http://127.0.0.1:${address.port}`, received };
}

const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const REDIRECT_URI = 'https://rp.example/callback';
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

let provider: Provider;
let rp: Awaited<ReturnType<typeof listen>>;
let hooks: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  [rp, hooks] = await Promise.all([listen(), listen()]);
  const webhooks = [{ url: `${hooks.origin}/hooks`, secret: WEBHOOK_SECRET, events: ['user.created', 'user.linked', 'user.deleted', 'login.succeeded'] }];
  provider = await startProvider({ devVars: `WEBHOOKS='${JSON.stringify(webhooks)}'\n` });
});

afterAll(async () => {
  await provider?.stop();
  for (const listener of [rp, hooks]) listener?.server.close();
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`--- provider output (tail) ---\n${provider.output().slice(-4000)}`));
});

/** A browser's cookie jar, enough for the authorization endpoint and the logout. */
class Jar {
  private readonly cookies = new Map<string, string>();
  async get(url: string): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    // Node's fetch (the Workers types do not know getSetCookie).
    for (const line of (response.headers as unknown as { getSetCookie(): string[] }).getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split('=') as [string, string];
      if (!value || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }
}

/**
 * The relying party's back-channel URI, written into its stored metadata as
 * registration would store it (the state directory of this provider, through
 * wrangler's own D1 command), before the client is first read.
 */
async function setBackchannelLogoutUri(clientId: string, uri: string) {
  const state = join(dirname(provider.devVarsPath), 'state');
  const sql = `UPDATE clients SET metadata = json_set(metadata, '$.backchannel_logout_uri', '${uri}', '$.backchannel_logout_session_required', json('true')) WHERE client_id = '${clientId}'`;
  await promisify(execFile)(process.execPath, ['node_modules/wrangler/bin/wrangler.js', 'd1', 'execute', 'DB', '--local', '--persist-to', state, '--command', sql], {
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
  });
}

describe('back-channel logout and webhooks against `npm start`', () => {
  it('sends the relying party a logout token jose verifies against jwks_uri when the user logs out', async () => {
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string | boolean>;
    expect(discovery).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });

    const registered = await fetch(discovery.registration_endpoint as string, {
      method: 'POST',
      headers: { authorization: `Bearer ${provider.registrationToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
        backchannel_logout_uri: `${rp.origin}/backchannel`,
        backchannel_logout_session_required: true,
      }),
    });
    expect(registered.status).toBe(201);
    const client = (await registered.json()) as { client_id: string; client_secret: string; backchannel_logout_uri?: string };
    if (client.backchannel_logout_uri === undefined) await setBackchannelLogoutUri(client.client_id, `${rp.origin}/backchannel`);

    // The browser flow: authorize, approve in the (sandbox) mini program, back with a code.
    const browser = new Jar();
    const authorize = new URL(discovery.authorization_endpoint as string);
    const verifier = randomBytes(32).toString('base64url');
    const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
    for (const [name, value] of Object.entries({ client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', state: 's', nonce: 'n', code_challenge: challenge, code_challenge_method: 'S256' })) {
      authorize.searchParams.set(name, value);
    }
    const started = await browser.get(authorize.href);
    // The authorization request is answered with the login page itself.
    expect(started.status).toBe(200);
    const loginId = /data-login-session="([^"]+)"/.exec(await started.text())![1]!;
    await approveLogin(provider.issuer, loginId, { openid: `o${randomUUID().replace(/-/g, '')}` });
    const back = await browser.get(`${provider.issuer}/login/${loginId}/continue`);
    expect(back.status).toBe(302);
    const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
    const tokenResponse = await fetch(discovery.token_endpoint as string, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
    });
    expect(tokenResponse.status).toBe(200);
    const { id_token: idToken } = (await tokenResponse.json()) as { id_token: string };
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri as string));
    const { payload: idClaims } = await jwtVerify(idToken, jwks, { issuer: provider.issuer, audience: client.client_id });
    expect(typeof idClaims.sid).toBe('string');

    // The user logs out through the end_session_endpoint; the queue carries the news.
    const loggedOut = await browser.get(`${discovery.end_session_endpoint}?${new URLSearchParams({ id_token_hint: idToken })}`);
    expect(loggedOut.status).toBe(200);
    await vi.waitFor(() => expect(rp.received).toHaveLength(1), { timeout: 30_000, interval: 200 });

    const [posted] = rp.received;
    expect(posted!.path).toBe('/backchannel');
    expect(posted!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const logoutToken = new URLSearchParams(posted!.body).get('logout_token')!;
    // Back-Channel Logout 1.0 §2.6: signature, iss, aud, iat, exp, typ, events, sub and/or sid, no nonce.
    const { payload, protectedHeader } = await jwtVerify(logoutToken, jwks, {
      issuer: provider.issuer,
      audience: client.client_id,
      typ: 'logout+jwt',
      requiredClaims: ['iat', 'exp', 'jti', 'events', 'sub', 'sid'],
      maxTokenAge: '2 minutes',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.events).toEqual({ [BACKCHANNEL_EVENT]: {} });
    expect(payload.sub).toBe(idClaims.sub);
    expect(payload.sid).toBe(idClaims.sid);
    expect(payload).not.toHaveProperty('nonce');
  });

  it('delivers webhooks of a sandbox login that creates a user, which standardwebhooks verifies', async () => {
    const exchanged = await (async () => {
      const registered = (await (
        await fetch(`${provider.issuer}/register`, {
          method: 'POST',
          headers: { authorization: `Bearer ${provider.registrationToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'], token_endpoint_auth_method: 'client_secret_basic' }),
        })
      ).json()) as { client_id: string; client_secret: string };
      const minted = (await (
        await fetch(`${provider.issuer}/sandbox/wechat/codes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'app' }) })
      ).json()) as { code: string; appid: string };
      const response = await fetch(`${provider.issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${registered.client_id}:${registered.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: minted.code,
          subject_token_type: 'urn:wechat:token-type:app_code',
          wechat_appid: minted.appid,
          scope: 'openid',
        }),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { id_token: string };
    })();
    const sub = JSON.parse(Buffer.from(exchanged.id_token.split('.')[1]!, 'base64url').toString()).sub as string;

    const webhook = new Webhook(WEBHOOK_SECRET);
    const forUser = () =>
      hooks.received
        .map((received) => ({ received, payload: webhook.verify(received.body, received.headers as Record<string, string>) as { type: string; timestamp: string; data: Record<string, unknown> } }))
        .filter(({ payload }) => payload.data.sub === sub);
    await vi.waitFor(() => expect(forUser().map(({ payload }) => payload.type)).toContain('user.created'), { timeout: 30_000, interval: 200 });
    for (const { received, payload } of forUser()) {
      expect(received.path).toBe('/hooks');
      expect(received.headers['webhook-id']).toMatch(/^msg_/);
      expect(Number.isNaN(Date.parse(payload.timestamp))).toBe(false);
      // Signed with another key, the same delivery is refused.
      expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(received.body, received.headers as Record<string, string>)).toThrow();
    }
  });
});
