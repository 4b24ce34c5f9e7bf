/**
 * examples/resource-server: an API that takes the provider's access tokens, verified as
 * JWTs against jwks_uri (jose) and by introspection (RFC 7662), each requiring the
 * `profile` scope. Its tokens come as its README gets them: `npm run token` (the device
 * flow, RFC 8628), whose link is opened in headless Chromium and approved with the
 * sandbox's form on the provider's login page.
 *
 * Proves: a valid token is accepted both ways with its sub, client_id and scope; no token
 * is 401 with a bare `Bearer realm` challenge, a malformed header 400, a forged, foreign
 * or wrong kind of token (ID token, refresh token) 401 `invalid_token`; a token without
 * the scope 403 `insufficient_scope` naming it (RFC 6750 §3); and a revoked token is
 * refused by introspection while a local JWT check still accepts it until it expires, as it
 * accepts another client's token, which introspection with the API's credentials refuses.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from '../e2e/support/browser.ts';
import { issuer, registrationToken, startExample, userByUnionid, type RunningExample } from './support/example.ts';
import { newPerson } from './support/login.ts';
import { examplesRoot } from './support/paths.ts';

let api: RunningExample;
let browser: Browser;

beforeAll(async () => {
  [api, browser] = await Promise.all([startExample('resource-server', '/api/jwt/me'), launchBrowser({ locale: 'en-US' })]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), api?.stop()]);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`--- examples/resource-server output ---\n${api.output().slice(-3000)}`));
});

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope: string;
}

/**
 * `npm run token -- --json --scope <scope>`: opens the link it prints in Chromium and approves
 * the login there with the sandbox's form, as this person; resolves with the token response it prints.
 * `client` overrides the API's own CLIENT_ID and CLIENT_SECRET.
 */
function deviceFlowToken(scope: string, person: { openid: string; unionid: string }, client: Record<string, string> = {}): Promise<Tokens> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['token.mjs', '--json', '--scope', scope], {
      cwd: join(examplesRoot, 'resource-server'),
      env: { ...process.env, ...api.env, ...client },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let opened = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', async (chunk: Buffer) => {
      stderr += chunk;
      const link = /^Open (\S+)$/m.exec(stderr)?.[1];
      if (!link || opened) return;
      opened = true;
      try {
        const { page } = browser;
        await page.goto(link);
        await page.waitForURL((url) => url.origin === issuer && url.pathname.startsWith('/login/'));
        await page.getByTestId('sandbox-openid').fill(person.openid);
        await page.getByTestId('sandbox-unionid').fill(person.unionid);
        await page.getByTestId('sandbox-approve').click();
      } catch (error) {
        child.kill();
        reject(error);
      }
    });
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as Tokens);
      else reject(new Error(`token.mjs exited with ${code}:\n${stderr}`));
    });
  });
}

const ROUTES = ['/api/jwt/me', '/api/introspection/me'];

async function call(path: string, authorization?: string) {
  const response = await fetch(`${api.baseUrl}${path}`, { headers: authorization ? { authorization } : {} });
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: (await response.json()) as Record<string, unknown> };
}

/** The provider's endpoints, with the API's client credentials (client_secret_basic). */
async function providerPost(endpoint: 'token_endpoint' | 'revocation_endpoint', form: Record<string, string>) {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
  const credentials = Buffer.from(`${encodeURIComponent(api.env.CLIENT_ID!)}:${encodeURIComponent(api.env.CLIENT_SECRET!)}`).toString('base64');
  const response = await fetch(discovery[endpoint]!, {
    method: 'POST',
    headers: { authorization: `Basic ${credentials}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, text: await response.text() };
}

describe('examples/resource-server', () => {
  const person = newPerson('api');
  let tokens: Tokens;
  let sub: string;

  it('accepts a valid token both ways, with its sub, client and scope', async () => {
    tokens = await deviceFlowToken('openid profile offline_access', person);
    expect(tokens.scope).toBe('openid profile offline_access');
    const user = await userByUnionid(person.unionid);
    sub = user.grants.find((grant) => grant.client_id === api.env.CLIENT_ID)!.sub;
    for (const route of ROUTES) {
      expect(await call(route, `Bearer ${tokens.access_token}`), route).toEqual({
        status: 200,
        challenge: null,
        body: { sub, client_id: api.env.CLIENT_ID, scope: 'openid profile offline_access' },
      });
    }
  });

  it('refuses a request without a token, or with a malformed one, as RFC 6750 §3 says', async () => {
    for (const route of ROUTES) {
      // No credentials: the challenge, without an error code.
      expect(await call(route), route).toMatchObject({ status: 401, challenge: 'Bearer realm="api"' });
      expect(await call(route, `Basic ${Buffer.from('a:b').toString('base64')}`), route).toMatchObject({ status: 401, challenge: 'Bearer realm="api"' });
      const malformed = await call(route, `Bearer ${tokens.access_token} extra`);
      expect(malformed.status, route).toBe(400);
      expect(malformed.challenge, route).toContain('error="invalid_request"');
    }
  });

  it('refuses a forged token, an ID token, a refresh token and nonsense: 401 invalid_token', async () => {
    const [header, payload, signature] = tokens.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: issuer, aud: issuer, sub, client_id: api.env.CLIENT_ID });
    // The same header and signature over claims with another sub.
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${signature}`;
    const idToken = tokens.id_token!;
    expect(idToken).toMatch(/^eyJ/);
    for (const route of ROUTES) {
      for (const [what, token] of [['forged', forged], ['id token', idToken], ['refresh token', tokens.refresh_token!], ['nonsense', 'not-a-token']]) {
        const refused = await call(route, `Bearer ${token}`);
        expect(refused.status, `${route}: ${what}`).toBe(401);
        expect(refused.challenge, `${route}: ${what}`).toMatch(/^Bearer realm="api", error="invalid_token"/);
        expect(refused.body.error, `${route}: ${what}`).toBe('invalid_token');
      }
    }
  });

  it('refuses a token without the profile scope: 403 insufficient_scope, naming it', async () => {
    // The same grant, narrowed by a refresh (RFC 6749 §6).
    const refreshed = await providerPost('token_endpoint', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, scope: 'openid' });
    expect(refreshed.status, refreshed.text).toBe(200);
    const narrow = JSON.parse(refreshed.text) as Tokens;
    expect(narrow.scope).toBe('openid');
    for (const route of ROUTES) {
      const refused = await call(route, `Bearer ${narrow.access_token}`);
      expect(refused.status, route).toBe(403);
      expect(refused.challenge, route).toBe('Bearer realm="api", error="insufficient_scope", error_description="the token lacks the profile scope", scope="profile"');
    }
  });

  it('after revocation: introspection refuses the token, the local JWT check accepts it until it expires', async () => {
    const fresh = await deviceFlowToken('openid profile', person);
    for (const route of ROUTES) expect((await call(route, `Bearer ${fresh.access_token}`)).status, route).toBe(200);
    const revoked = await providerPost('revocation_endpoint', { token: fresh.access_token, token_type_hint: 'access_token' });
    expect(revoked.status).toBe(200);
    expect((await call('/api/introspection/me', `Bearer ${fresh.access_token}`)).status).toBe(401);
    expect((await call('/api/jwt/me', `Bearer ${fresh.access_token}`)).status).toBe(200);
  });

  it("takes another client's token by its signature alone; introspection says nothing of it", async () => {
    // Another client of the same provider, registered as register.mjs registers this API's.
    const registered = await fetch(`${issuer}/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${registrationToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'another client', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] }),
    });
    expect(registered.status).toBe(201);
    const other = (await registered.json()) as { client_id: string; client_secret: string };
    const foreign = await deviceFlowToken('openid profile', person, { CLIENT_ID: other.client_id, CLIENT_SECRET: other.client_secret });

    // The provider's access tokens all name the issuer as their audience: a JWT check cannot tell
    // the clients apart without looking at client_id, which the API answers.
    const byJwt = await call('/api/jwt/me', `Bearer ${foreign.access_token}`);
    expect(byJwt).toMatchObject({ status: 200, body: { client_id: other.client_id, scope: 'openid profile' } });
    // Introspection answers the API's client about its own tokens only (RFC 7662 §2.2).
    const byIntrospection = await call('/api/introspection/me', `Bearer ${foreign.access_token}`);
    expect(byIntrospection.status).toBe(401);
    expect(byIntrospection.challenge).toMatch(/error="invalid_token"/);
  });
});
