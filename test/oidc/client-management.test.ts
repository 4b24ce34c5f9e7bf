/**
 * Client management (RFC 7592, docs/protocol.md "Clients"): the
 * registration access token reads, replaces and deletes its own client and
 * nothing else; a deleted client's tokens stop working at once.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { burst, expectRateLimited, freshAddress, from, inOneWindow, LIMITS } from '../limits/support';
import { call, claimsOf, exchange, TOKEN_EXCHANGE, ISSUER, login, mint, MINIPROGRAM_CODE, postForm, register, uniqueId, type RegisteredClient } from '../support/oidc';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

interface Managed extends RegisteredClient {
  registration_client_uri: string;
  registration_access_token: string;
}

const manage = (client: Managed, init: RequestInit = {}, token: string | null = client.registration_access_token) =>
  call(client.registration_client_uri.slice(ISSUER.length), {
    ...init,
    headers: { ...(token !== null && { Authorization: `Bearer ${token}` }), ...(init.body !== undefined && { 'Content-Type': 'application/json' }), ...(init.headers as Record<string, string>) },
  });

const put = (client: Managed, body: Record<string, unknown>, token?: string) =>
  manage(client, { method: 'PUT', body: JSON.stringify(body) }, token);

const clientRow = (clientId: string) => env.DB.prepare('SELECT * FROM clients WHERE client_id = ?').bind(clientId).first<Record<string, unknown>>();

const registerManaged = (metadata: Record<string, unknown> = {}) => register(metadata) as Promise<Managed>;

/** What the client holds in D1: its grants, their refresh tokens, its device codes. */
async function holdings(clientId: string) {
  return env.DB.prepare(
    `SELECT (SELECT count(*) FROM grants WHERE client_id = ?1) AS grants,
            (SELECT count(*) FROM refresh_tokens WHERE grant_id IN (SELECT id FROM grants WHERE client_id = ?1)) AS refresh_tokens,
            (SELECT count(*) FROM device_codes WHERE client_id = ?1) AS device_codes,
            (SELECT count(*) FROM clients WHERE client_id = ?1) AS clients`,
  )
    .bind(clientId)
    .first<Record<string, number>>();
}

const userinfoStatus = async (accessToken: string) => (await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } })).status;

describe('RFC 7592 §3: the registration response says where and how to manage the client', () => {
  it('adds registration_client_uri and a registration access token, kept only as its hash', async () => {
    const client = await registerManaged({ client_name: 'Managed' });
    expect(client.registration_client_uri).toBe(`${ISSUER}/register/${client.client_id}`);
    expect(client.registration_access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await clientRow(client.client_id);
    expect(row!.registration_token_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(row)).not.toContain(client.registration_access_token);
  });
});

describe('RFC 7592 §2.1: reading the client', () => {
  it('answers the registration response as it stands, without the secret', async () => {
    const client = await registerManaged({ client_name: 'Reader', subject_type: 'pairwise', redirect_uris: ['https://reader.example/cb'], grant_types: ['authorization_code'] });
    const response = await manage(client);
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const read = await response.json<Record<string, unknown>>();
    const { client_secret: _secret, ...registered } = client;
    expect(read).toEqual(registered);
    expect(JSON.stringify(read)).not.toContain(String((await clientRow(client.client_id))!.client_secret_hash));
  });
});

describe('RFC 7592 §2: the registration access token, and nothing else, opens the client', () => {
  it('is 401 with a Bearer challenge without it, with a wrong one, with another client\'s, and for a client that does not exist, alike', async () => {
    const [client, other] = await Promise.all([registerManaged(), registerManaged()]);
    const unknown = { ...client, registration_client_uri: `${ISSUER}/register/${uniqueId('c')}` };
    const malformed = { ...client, registration_client_uri: `${ISSUER}/register/${'%22'.repeat(3)}` };
    const before = await clientRow(client.client_id);
    const attempts: [string, Response][] = [];
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const body = method === 'PUT' ? JSON.stringify({ client_id: client.client_id, grant_types: ['refresh_token'] }) : undefined;
      attempts.push(
        ['none', await manage(client, { method, body }, null)],
        ['wrong', await manage(client, { method, body }, 'not-the-token')],
        ['the other client\'s', await manage(client, { method, body }, other.registration_access_token)],
        ['for a client that does not exist', await manage(unknown, { method, body })],
        ['for a malformed client id', await manage(malformed, { method, body })],
        ['the initial access token', await manage(client, { method, body }, 'test-registration-token')],
      );
    }
    for (const [what, response] of attempts) {
      expect(response.status, what).toBe(401);
      expect(response.headers.get('WWW-Authenticate'), what).toBe(what === 'none' ? 'Bearer' : 'Bearer error="invalid_token"');
      expect(await response.json(), what).toEqual({ error: 'invalid_token', error_description: 'a valid registration access token for this client is required' });
    }
    // Nothing changed: the client is still there, as registered.
    expect(await clientRow(client.client_id)).toEqual(before);
  });

  it('a client registered before client management has no token and cannot be managed', async () => {
    const clientId = uniqueId('old');
    await env.DB.prepare('INSERT INTO clients (client_id, client_secret_hash, metadata, client_id_issued_at) VALUES (?, NULL, ?, 0)')
      .bind(clientId, JSON.stringify({ redirect_uris: [], token_endpoint_auth_method: 'none', grant_types: ['refresh_token'], response_types: [], application_type: 'native', post_logout_redirect_uris: [] }))
      .run();
    for (const token of ['', 'anything']) {
      const response = await call(`/register/${clientId}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
    }
    expect(await clientRow(clientId)).not.toBeNull();
  });

  it(`counts against the registration limit: ${LIMITS.registration} guesses a minute from one address, then 429 even with the right token`, () =>
    inOneWindow(async () => {
      const client = await registerManaged();
      const address = freshAddress();
      const guess = (token: string) => manage(client, { headers: from(address) }, token);
      expect(await burst(LIMITS.registration, (i) => guess(`guess-${i}`), 5)).toEqual(Array(LIMITS.registration).fill(401));
      await expectRateLimited(await guess(client.registration_access_token), 'json');
      expect((await manage(client, { headers: from(freshAddress()) })).status).toBe(200);
    }));
});

describe('RFC 7592 §2.2: replacing the metadata', () => {
  it('replaces it whole: omitted fields take their defaults; the token, the secret and issued tokens stay valid', async () => {
    const client = await registerManaged({ client_name: 'Before', scope: 'openid profile offline_access', wechat_appids: ['wx0000000000mini01'] });
    const tokens = await login(client, { kind: 'miniprogram', appid: 'wx0000000000mini01' }, { scope: 'openid offline_access' });

    const response = await put(client, { ...client, client_name: 'After', scope: undefined, wechat_appids: undefined });
    expect(response.status).toBe(200);
    const updated = await response.json<Record<string, unknown>>();
    expect(updated).toMatchObject({
      client_id: client.client_id,
      client_name: 'After',
      client_id_issued_at: client.client_id_issued_at,
      client_secret_expires_at: 0,
      scope: 'openid profile phone wechat offline_access',
      registration_client_uri: client.registration_client_uri,
      registration_access_token: client.registration_access_token,
    });
    expect(updated).not.toHaveProperty('wechat_appids');
    expect(updated).not.toHaveProperty('client_secret');
    expect(await (await manage(client)).json()).toEqual(updated);

    // The same secret authenticates, and the tokens issued before still work.
    expect(await userinfoStatus(tokens.access_token)).toBe(200);
    const refreshed = await postForm('/token', client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(refreshed.status).toBe(200);
    // The new metadata rules at once: every configured WeChat app is allowed again.
    await login(client, { kind: 'app', appid: 'wx0000000000app001' }, { scope: 'openid' });
  });

  it('a public client made confidential gets a secret; a confidential one made public loses it', async () => {
    const client = await registerManaged({ token_endpoint_auth_method: 'none', application_type: 'native' });
    const confidential = await (await put(client, { ...client, token_endpoint_auth_method: 'client_secret_post' })).json<Managed>();
    expect(confidential.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await login(confidential, { kind: 'app' }, { scope: 'openid' });

    const publicAgain = await (await put(client, { ...confidential, client_secret: undefined, token_endpoint_auth_method: 'none' })).json<Managed>();
    expect(publicAgain).not.toHaveProperty('client_secret');
    expect(publicAgain).not.toHaveProperty('client_secret_expires_at');
    expect((await clientRow(client.client_id))!.client_secret_hash).toBeNull();
    await login(publicAgain, { kind: 'app' }, { scope: 'openid' });
  });

  it.each([
    ['without client_id', (client: Managed) => ({ ...client, client_id: undefined }), 'invalid_client_metadata'],
    ['with another client_id', (client: Managed) => ({ ...client, client_id: 'someone-else' }), 'invalid_client_metadata'],
    ['with a wrong client_secret', (client: Managed) => ({ ...client, client_secret: 'chosen-by-the-client' }), 'invalid_client_metadata'],
    ['with a client_secret that is not a string', (client: Managed) => ({ ...client, client_secret: 42 }), 'invalid_client_metadata'],
    ['with invalid metadata', (client: Managed) => ({ ...client, grant_types: ['password'] }), 'invalid_client_metadata'],
    ['with an invalid redirect URI', (client: Managed) => ({ ...client, redirect_uris: ['http://rp.example/cb'] }), 'invalid_redirect_uri'],
    ['changing subject_type', (client: Managed) => ({ ...client, subject_type: 'pairwise' }), 'invalid_client_metadata'],
  ])('refuses an update %s with %s and changes nothing', async (_, body, error) => {
    const client = await registerManaged({ redirect_uris: ['https://rp.example/cb'], grant_types: ['authorization_code'], client_name: 'Unchanged' });
    const before = await clientRow(client.client_id);
    const response = await put(client, body(client));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error });
    expect(await clientRow(client.client_id)).toEqual(before);
  });

  it('accepts the client_secret sent back as issued', async () => {
    const client = await registerManaged();
    const response = await put(client, { ...client, client_name: 'With secret' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ client_name: 'With secret' });
  });

  it("a pairwise client keeps its subject type and its sector: another path on its host is fine, another host is not", async () => {
    const client = await registerManaged({ subject_type: 'pairwise', redirect_uris: ['https://sector.example/cb'], grant_types: ['authorization_code'] });
    expect((await put(client, { ...client, redirect_uris: ['https://sector.example/other', 'http://127.0.0.1/cb'] })).status).toBe(200);
    for (const change of [{ redirect_uris: ['https://elsewhere.example/cb'] }, { subject_type: 'public' }, { subject_type: undefined }]) {
      const response = await put(client, { ...client, ...change });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_client_metadata' });
    }
    expect(await (await manage(client)).json()).toMatchObject({ subject_type: 'pairwise', redirect_uris: ['https://sector.example/other', 'http://127.0.0.1/cb'] });
  });
});

describe('RFC 7592 §2.3: deleting the client', () => {
  it('204, and every token it holds stops working at once; the client is gone', async () => {
    const client = await registerManaged({ grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange', 'refresh_token', DEVICE_CODE] });
    const other = await registerManaged();
    const tokens = await login(client, { kind: 'miniprogram' });
    const device = await postForm('/device_authorization', client, { scope: 'openid' });
    expect(device.status).toBe(200);
    expect(await holdings(client.client_id)).toEqual({ grants: 1, refresh_tokens: 1, device_codes: 1, clients: 1 });
    expect(await userinfoStatus(tokens.access_token)).toBe(200);

    const response = await manage(client, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');

    expect(await holdings(client.client_id)).toEqual({ grants: 0, refresh_tokens: 0, device_codes: 0, clients: 0 });
    expect((await env.DB.prepare('PRAGMA foreign_key_check').all()).results).toEqual([]);
    expect(await userinfoStatus(tokens.access_token)).toBe(401);
    const refresh = await postForm('/token', client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(refresh.status).toBe(401);
    expect(await refresh.json()).toMatchObject({ error: 'invalid_client' });
    const introspected = await postForm('/introspect', other, { token: tokens.access_token });
    expect(await introspected.json()).toEqual({ active: false });
    expect(claimsOf(tokens.access_token).client_id).toBe(client.client_id);
    // The token is the client's no more: reading or deleting again is the same 401 as for a stranger.
    expect((await manage(client)).status).toBe(401);
    expect((await manage(client, { method: 'DELETE' })).status).toBe(401);
    // Other clients are untouched.
    expect((await manage(other)).status).toBe(200);
  });

  it('a client removed by another isolate, still cached by this one, gets invalid_client and leaves nothing behind', async () => {
    const client = await registerManaged({ redirect_uris: [], grant_types: [TOKEN_EXCHANGE, DEVICE_CODE], application_type: 'native', token_endpoint_auth_method: 'none' });
    // This isolate reads the client once, and keeps it for a minute.
    await login(client, { kind: 'miniprogram', openid: uniqueId('o_cached_') });
    // Another isolate's DELETE: the rows go, this isolate's cache does not hear of it.
    await env.DB.batch([
      env.DB.prepare('DELETE FROM refresh_tokens WHERE grant_id IN (SELECT id FROM grants WHERE client_id = ?)').bind(client.client_id),
      env.DB.prepare('DELETE FROM grants WHERE client_id = ?').bind(client.client_id),
      env.DB.prepare('DELETE FROM clients WHERE client_id = ?').bind(client.client_id),
    ]);
    const minted = await mint({ kind: 'miniprogram', openid: uniqueId('o_cached_') });
    const exchanged = await exchange(client, minted.code, MINIPROGRAM_CODE, { wechat_appid: minted.appid });
    expect(exchanged.status).toBe(401);
    expect(await exchanged.json()).toMatchObject({ error: 'invalid_client' });
    const device = await postForm('/device_authorization', client, { scope: 'openid' });
    expect(device.status).toBe(401);
    expect(await device.json()).toMatchObject({ error: 'invalid_client' });
    expect(await holdings(client.client_id)).toEqual({ grants: 0, refresh_tokens: 0, device_codes: 0, clients: 0 });
  });
});
