/** Staged key rotation through the app (docs/keys.md, docs/protocol.md §2): SIGNING_KEYS with `nbf`. */
import { env } from 'cloudflare:workers';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Env } from '../../src/config';
import dev from '../../src/dev';
import { basic, ISSUER, MINIPROGRAM_CODE, mint, register, TOKEN_EXCHANGE, type RegisteredClient, type TokenSet } from '../support/oidc';

const executionContext = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const HOUR = 3600;
/** The JWKS keeps a retired key this long past its retirement: tokens live an hour, clocks may be 5 minutes off. */
const RETENTION = HOUR + 300;

let oldKey: JWK;
let newKey: JWK;
let client: RegisteredClient;

beforeAll(async () => {
  const privateJwk = async (kid: string): Promise<JWK> => ({ ...(await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey)), kid, alg: 'RS256', use: 'sig' });
  [oldKey, newKey, client] = await Promise.all([privateJwk('old'), privateJwk('new'), register()]);
});

const now = () => Math.floor(Date.now() / 1000);
/** SIGNING_KEYS of the new key activating at `newFrom` and the old key before it. */
const signingKeys = (newFrom: number) => JSON.stringify({ keys: [{ ...newKey, nbf: newFrom }, oldKey] });

/** The app (the development entry) with SIGNING_KEYS set to `keys`. */
const app = (keys: string) => (path: string, init?: RequestInit) =>
  dev.fetch(new Request(`${ISSUER}${path}`, init), { ...env, SIGNING_KEYS: keys } satisfies Env, executionContext);

async function publishedKids(call: ReturnType<typeof app>): Promise<string[]> {
  const response = await call('/jwks');
  expect(response.status).toBe(200);
  return (await response.json<{ keys: { kid: string }[] }>()).keys.map((key) => key.kid);
}

async function tokens(call: ReturnType<typeof app>): Promise<TokenSet> {
  const minted = await mint({ kind: 'miniprogram' });
  const response = await call('/token', {
    method: 'POST',
    headers: { Authorization: basic(client), 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: minted.code,
      subject_token_type: MINIPROGRAM_CODE,
      wechat_appid: minted.appid,
      scope: 'openid profile',
    }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json();
}

/** The kid both tokens carry, after checking them against the JWKS the app publishes. */
async function signedWith(call: ReturnType<typeof app>, set: TokenSet): Promise<string> {
  const jwks = createLocalJWKSet(await (await call('/jwks')).json());
  await jwtVerify(set.access_token, jwks, { issuer: ISSUER, typ: 'at+jwt' });
  await jwtVerify(set.id_token!, jwks, { issuer: ISSUER, audience: client.client_id });
  const kid = decodeProtectedHeader(set.access_token).kid!;
  expect(decodeProtectedHeader(set.id_token!).kid).toBe(kid);
  return kid;
}

const userinfo = (call: ReturnType<typeof app>, accessToken: string) => call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } });

describe('staged key rotation (docs/keys.md)', () => {
  it('publishes a pending key before it signs; once active it signs, and the old key\'s tokens still verify', async () => {
    const activation = now() + 24 * HOUR;
    const pending = app(signingKeys(activation));
    expect(await publishedKids(pending)).toEqual(['new', 'old']);
    const before = await tokens(pending);
    expect(await signedWith(pending, before)).toBe('old');

    const active = app(signingKeys(now() - 60));
    expect(await publishedKids(active)).toEqual(['new', 'old']);
    const after = await tokens(active);
    expect(await signedWith(active, after)).toBe('new');
    // A token the old key signed before the switch: the relying party verifies it against the JWKS, the provider takes it.
    expect(await signedWith(active, before)).toBe('old');
    expect((await userinfo(active, before.access_token)).status).toBe(200);
    expect((await userinfo(active, after.access_token)).status).toBe(200);
  });

  it('adds a first ES256 key to a set of RS256 keys: published at once, signing access tokens from its nbf, never ID tokens', async () => {
    const es256 = { ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)), kid: 'es', alg: 'ES256', use: 'sig' };
    const pending = app(JSON.stringify({ keys: [{ ...es256, nbf: now() + HOUR }, oldKey] }));
    expect(await publishedKids(pending)).toEqual(['es', 'old']);
    expect(await signedWith(pending, await tokens(pending))).toBe('old');

    const active = app(JSON.stringify({ keys: [{ ...es256, nbf: now() - 60 }, oldKey] }));
    const after = await tokens(active);
    const jwks = createLocalJWKSet(await (await active('/jwks')).json());
    expect((await jwtVerify(after.access_token, jwks, { issuer: ISSUER, typ: 'at+jwt' })).protectedHeader).toMatchObject({ alg: 'ES256', kid: 'es' });
    expect((await jwtVerify(after.id_token!, jwks, { issuer: ISSUER, audience: client.client_id })).protectedHeader).toMatchObject({ alg: 'RS256', kid: 'old' });
    expect((await userinfo(active, after.access_token)).status).toBe(200);
    // Discovery names the ID tokens' algorithm only (OpenID Connect Discovery §3).
    for (const call of [pending, active]) {
      const discovery = await (await call('/.well-known/openid-configuration')).json<Record<string, unknown>>();
      expect(discovery.id_token_signing_alg_values_supported).toEqual(['RS256']);
    }
  });

  it('stops publishing a retired key once every token it signed has expired, and not before', async () => {
    expect(await publishedKids(app(signingKeys(now() - HOUR)))).toEqual(['new', 'old']);
    const retired = app(signingKeys(now() - RETENTION - 5));
    expect(await publishedKids(retired)).toEqual(['new']);
    expect(await signedWith(retired, await tokens(retired))).toBe('new');
  });

  it.each([
    ['no key active yet', async () => [{ ...newKey, nbf: now() + HOUR }]],
    ['no RS256 key (ID tokens are RS256)', async () => [{ ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)), kid: 'es', alg: 'ES256', use: 'sig' }]],
  ])('refuses loudly a key set with %s', async (_, make) => {
    const refused = app(JSON.stringify({ keys: await make() }));
    for (const path of ['/jwks', '/.well-known/openid-configuration']) {
      const response = await refused(path);
      expect(response.status, path).toBe(500);
      expect(await response.json()).toEqual({ error: 'server_error', error_description: 'the server failed to process the request' });
    }
  });
});
