import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, REGISTRATION_TOKEN, TOKEN_EXCHANGE } from '../support/oidc';

const registerRaw = (body: unknown, token: string | null = REGISTRATION_TOKEN, type = 'application/json') =>
  call('/register', {
    method: 'POST',
    headers: { ...(token && { Authorization: `Bearer ${token}` }), 'Content-Type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const clientCount = async () => (await env.DB.prepare('SELECT count(*) AS n FROM clients').first<{ n: number }>())!.n;

describe('dynamic client registration (RFC 7591, docs/protocol.md §3)', () => {
  it('refuses a request without the initial access token, or with a wrong one', async () => {
    const before = await clientCount();
    for (const token of [null, 'wrong-token']) {
      const response = await registerRaw({ redirect_uris: ['https://rp.example/cb'] }, token);
      expect(response.status).toBe(401);
      expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
      expect(await response.json()).toMatchObject({ error: 'invalid_token' });
    }
    expect(await clientCount()).toBe(before);
  });

  it('registers a confidential web client with defaults and stores only a hash of its secret', async () => {
    const response = await registerRaw({ redirect_uris: ['https://rp.example/cb'], client_name: 'RP' });
    expect(response.status).toBe(201);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const client = await response.json<Record<string, unknown>>();
    expect(client).toMatchObject({
      client_id: expect.any(String),
      client_secret: expect.any(String),
      client_secret_expires_at: 0,
      client_id_issued_at: expect.any(Number),
      redirect_uris: ['https://rp.example/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      application_type: 'web',
      client_name: 'RP',
    });
    const row = await env.DB.prepare('SELECT * FROM clients WHERE client_id = ?').bind(client.client_id).first<Record<string, string>>();
    expect(row).not.toBeNull();
    expect(JSON.stringify(row)).not.toContain(client.client_secret as string);
    expect(row!.client_secret_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('registers a public native client without a secret, with RFC 8252 redirect URIs', async () => {
    const response = await registerRaw({
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['com.example.app:/oauth2redirect', 'http://127.0.0.1/callback', 'http://[::1]/cb', 'https://app.example.com/cb'],
      grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
      wechat_appids: ['wx0000000000mini01'],
    });
    expect(response.status).toBe(201);
    const client = await response.json<Record<string, unknown>>();
    expect(client).not.toHaveProperty('client_secret');
    expect(client.wechat_appids).toEqual(['wx0000000000mini01']);
  });

  it.each([
    ['web http to a public host', { redirect_uris: ['http://rp.example/cb'] }, 'invalid_redirect_uri'],
    ['a fragment', { redirect_uris: ['https://rp.example/cb#frag'] }, 'invalid_redirect_uri'],
    ['a relative URI', { redirect_uris: ['/cb'] }, 'invalid_redirect_uri'],
    ['a web client with a custom scheme', { redirect_uris: ['com.example.app:/cb'] }, 'invalid_redirect_uri'],
    ['a native scheme that is not a reverse domain', { application_type: 'native', redirect_uris: ['myapp:/cb'] }, 'invalid_redirect_uri'],
    ['native loopback by name (RFC 8252 §8.3)', { application_type: 'native', redirect_uris: ['http://localhost/cb'] }, 'invalid_redirect_uri'],
    ['no redirect_uris for the code grant', {}, 'invalid_redirect_uri'],
    ['redirect_uris not an array', { redirect_uris: 'https://rp.example/cb' }, 'invalid_redirect_uri'],
    ['an unknown grant type', { grant_types: ['password'], redirect_uris: ['https://rp.example/cb'] }, 'invalid_client_metadata'],
    ['an implicit response type', { response_types: ['token'], redirect_uris: ['https://rp.example/cb'] }, 'invalid_client_metadata'],
    ['code without authorization_code', { grant_types: [TOKEN_EXCHANGE], response_types: ['code'] }, 'invalid_client_metadata'],
    ['an unknown auth method', { token_endpoint_auth_method: 'private_key_jwt', redirect_uris: ['https://rp.example/cb'] }, 'invalid_client_metadata'],
    ['an unknown application type', { application_type: 'tv', redirect_uris: ['https://rp.example/cb'] }, 'invalid_client_metadata'],
    ['a WeChat app the bridge does not have', { grant_types: [TOKEN_EXCHANGE], wechat_appids: ['wxunknown'] }, 'invalid_client_metadata'],
    ['an empty wechat_appids', { grant_types: [TOKEN_EXCHANGE], wechat_appids: [] }, 'invalid_client_metadata'],
    ['a client_name that is not a string', { grant_types: [TOKEN_EXCHANGE], client_name: 42 }, 'invalid_client_metadata'],
    ['a bad post-logout URI', { redirect_uris: ['https://rp.example/cb'], post_logout_redirect_uris: ['javascript:alert(1)'] }, 'invalid_client_metadata'],
    ['a JSON array body', [], 'invalid_client_metadata'],
    ['a scope that is not a string', { grant_types: [TOKEN_EXCHANGE], scope: ['openid'] }, 'invalid_client_metadata'],
    ['a malformed scope', { grant_types: [TOKEN_EXCHANGE], scope: 'openid  profile' }, 'invalid_client_metadata'],
    ['a scope with nothing supported', { grant_types: [TOKEN_EXCHANGE], scope: 'email address' }, 'invalid_client_metadata'],
    ['an http logo_uri', { grant_types: [TOKEN_EXCHANGE], logo_uri: 'http://rp.example/logo.png' }, 'invalid_client_metadata'],
    ['a javascript: client_uri', { grant_types: [TOKEN_EXCHANGE], client_uri: 'javascript:alert(1)' }, 'invalid_client_metadata'],
    ['a client_uri that is not a string', { grant_types: [TOKEN_EXCHANGE], client_uri: 7 }, 'invalid_client_metadata'],
  ])('refuses %s, and registers nothing', async (_, body, error) => {
    const before = await clientCount();
    const response = await registerRaw(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error, error_description: expect.any(String) });
    expect(await clientCount()).toBe(before);
  });

  it('refuses a body that is not JSON', async () => {
    for (const [body, type] of [['{not json', 'application/json'], ['redirect_uris=x', 'application/x-www-form-urlencoded']] as const) {
      const response = await registerRaw(body, REGISTRATION_TOKEN, type);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_client_metadata' });
    }
  });

  it('ignores metadata it does not know (RFC 7591 §2)', async () => {
    const response = await registerRaw({ grant_types: [TOKEN_EXCHANGE], x_custom: 1 });
    expect(response.status).toBe(201);
    expect(await response.json()).not.toHaveProperty('x_custom');
  });

  it('echoes the scope it registered: every supported scope when omitted, the supported part of what was asked otherwise', async () => {
    const all = await (await registerRaw({ grant_types: [TOKEN_EXCHANGE] })).json<Record<string, unknown>>();
    expect(all.scope).toBe('openid profile phone wechat offline_access');
    const some = await (await registerRaw({ grant_types: [TOKEN_EXCHANGE], scope: 'email openid phone' })).json<Record<string, unknown>>();
    expect(some.scope).toBe('openid phone');
  });

  it('keeps a client to the scopes it registered', async () => {
    const client = await (
      await registerRaw({ grant_types: ['authorization_code'], redirect_uris: ['https://rp.example/cb'], scope: 'openid' })
    ).json<{ client_id: string }>();
    const authorize = (scope: string) =>
      call(`/authorize?${new URLSearchParams({ client_id: client.client_id, redirect_uri: 'https://rp.example/cb', response_type: 'code', scope })}`, { redirect: 'manual' });
    // A scope it did not register is dropped, as an unsupported one is; nothing left is invalid_scope.
    const narrowed = await authorize('openid phone');
    expect(narrowed.status).toBe(200);
    const refused = new URL((await authorize('phone')).headers.get('Location')!);
    expect(refused.searchParams.get('error')).toBe('invalid_scope');
  });

  it('echoes client_uri and logo_uri, which are shown where the person approves', async () => {
    const client = await (
      await registerRaw({ grant_types: [TOKEN_EXCHANGE], client_uri: 'https://rp.example/', logo_uri: 'https://rp.example/logo.png' })
    ).json<Record<string, unknown>>();
    expect(client).toMatchObject({ client_uri: 'https://rp.example/', logo_uri: 'https://rp.example/logo.png' });
  });
});
