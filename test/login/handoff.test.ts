import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { approve, authorizeUrl, Browser, deny, loginIdOf, startLogin, webClientMetadata } from '../support/browser';
import { call, mint, register } from '../support/oidc';

const handoff = (body: unknown, type = 'application/json') =>
  call('/wechat/handoff', { method: 'POST', headers: { 'Content-Type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });

const approvals = async () => (await env.DB.prepare('SELECT count(*) AS n FROM login_approvals').first<{ n: number }>())!.n;

async function pendingLogin() {
  const client = await register(webClientMetadata);
  return startLogin(new Browser(), authorizeUrl(client));
}

/** Moves a pending login past its expiry, as time would: KV may keep it a while after (src/store/kv.ts). */
async function expire(loginId: string) {
  const login = await env.KV.get<{ expiresAt: number }>(`login:${loginId}`, 'json');
  await env.KV.put(`login:${loginId}`, JSON.stringify({ ...login!, expiresAt: Math.floor(Date.now() / 1000) - 1 }), { expirationTtl: 60 });
}

describe('POST /wechat/handoff (docs/protocol.md §5)', () => {
  it('approves a pending login once; a second approval is 409 and spends no WeChat code', async () => {
    const loginId = await pendingLogin();
    const first = await approve(loginId);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ status: 'approved', client_name: 'Relying Party' });

    const minted = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini01' });
    const second = await handoff({ login: loginId, code: minted.code, appid: minted.appid });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: expect.any(String) });
    // The code was not spent: it still logs in.
    expect((await handoff({ login: await pendingLogin(), code: minted.code, appid: minted.appid })).status).toBe(200);
  });

  it('lets one of two concurrent approvals win', async () => {
    const loginId = await pendingLogin();
    const responses = await Promise.all([approve(loginId), approve(loginId)]);
    expect(responses.map((response) => response.status).sort()).toEqual([200, 409]);
  });

  it('answers an unknown login 404, a bad WeChat code 400, and writes nothing', async () => {
    const before = await approvals();
    const minted = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini01' });
    const unknown = await handoff({ login: 'NOSUCHLOGIN', code: minted.code });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: expect.any(String) });

    const loginId = await pendingLogin();
    const bad = await handoff({ login: loginId, code: 'spent-or-invalid' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_grant' });
    const failing = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini01', error: 40029 });
    expect((await handoff({ login: loginId, code: failing.code })).status).toBe(400);
    expect(await approvals()).toBe(before);
    // Still pending: a good code approves it.
    expect((await approve(loginId)).status).toBe(200);
  });

  /** Approving `login` is 404 login_not_found: nothing written, and the WeChat code not spent, still good for a live login. */
  async function expectNotFound(login: string) {
    const before = await approvals();
    const minted = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini01' });
    const response = await handoff({ login, code: minted.code, appid: minted.appid });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'login_not_found' });
    expect(await approvals()).toBe(before);
    expect((await handoff({ login: await pendingLogin(), code: minted.code, appid: minted.appid })).status).toBe(200);
  }

  it.each([
    ['too long', 'a'.repeat(33)],
    ['empty', ''],
    ['with characters no login id has', 'abc/../def'],
  ])('answers a login id %s as unknown: 404 login_not_found, no WeChat code spent, nothing written', async (_, login) => {
    await expectNotFound(login);
  });

  it('answers an expired login 404 login_not_found, spending no WeChat code and writing nothing', async () => {
    const loginId = await pendingLogin();
    await expire(loginId);
    await expectNotFound(loginId);
  });

  it('binds the verified phone number when a phone code is sent', async () => {
    const loginId = await pendingLogin();
    const minted = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini01' });
    const phone = await mint({ kind: 'phone', phone: '+8613600000009', appid: 'wx0000000000mini01' });
    expect((await handoff({ login: loginId, code: minted.code, phone_code: phone.code })).status).toBe(200);
    const row = await env.DB.prepare(
      'SELECT u.phone_number FROM login_approvals a JOIN users u ON u.id = a.user_id WHERE a.login_id = ?',
    ).bind(loginId).first<{ phone_number: string }>();
    expect(row!.phone_number).toBe('+8613600000009');
  });

  it('a deny needs a good WeChat code too: without one nothing is answered, and the login can still be approved', async () => {
    const loginId = await pendingLogin();
    const before = await approvals();
    const anonymous = await handoff({ login: loginId, deny: true });
    expect(anonymous.status).toBe(400);
    expect(await anonymous.json()).toMatchObject({ error: 'invalid_request' });
    const forged = await handoff({ login: loginId, code: 'not-from-wechat', deny: true });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await approvals()).toBe(before);

    const denied = await deny(loginId, { openid: 'the-person-who-said-no' });
    expect(await denied.json()).toMatchObject({ status: 'denied' });
    // Who said no is known; nobody was bound to the login.
    const row = await env.DB.prepare('SELECT approved, user_id, wechat_openid FROM login_approvals WHERE login_id = ?').bind(loginId).first();
    expect(row).toEqual({ approved: 0, user_id: null, wechat_openid: 'the-person-who-said-no' });
  });

  it.each([
    ['not JSON', '{'],
    ['a JSON array', '[]'],
    ['no login', { code: 'abc' }],
    ['a login that is not a string', { login: 42, code: 'abc' }],
    ['no code', { login: 'abc' }],
    ['a code that is not a string', { login: 'abc', code: 42 }],
    ['deny that is not a boolean', { login: 'abc', deny: 'yes' }],
  ])('refuses %s with 400 invalid_request', async (_, body) => {
    const response = await handoff(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a body that is not JSON by content type', async () => {
    const response = await handoff('login=abc&code=def', 'application/x-www-form-urlencoded');
    expect(response.status).toBe(400);
  });
});

describe('GET /wechat/handoff/<login>: what the mini program shows before the person approves (docs/protocol.md §5.3)', () => {
  const CHROME_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';

  it('a browser login: the application, the scopes in order, when it expires, and the browser that waits; no secret, no person', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await loginIdOf(await browser.get(authorizeUrl(client, { scope: 'openid phone profile' }), { 'User-Agent': CHROME_ON_WINDOWS }));
    const response = await call(`/wechat/handoff/${loginId}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const shown = await response.json<Record<string, unknown>>();
    expect(shown).toEqual({
      kind: 'browser',
      client_id: client.client_id,
      client_name: 'Relying Party',
      scopes: ['openid', 'profile', 'phone'],
      expires_at: expect.any(Number),
      // Where the request came from is Cloudflare's to say; a local run knows none.
      device: { browser: 'Chrome', os: 'Windows' },
    });
    expect(shown.expires_at as number).toBeGreaterThan(Date.now() / 1000);
  });

  it('a device login, by its user code: kind device, and what the device said it was', async () => {
    const client = await register({ grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], token_endpoint_auth_method: 'none' });
    const started = await call('/device_authorization', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'curl/8.5.0' },
      body: new URLSearchParams({ client_id: client.client_id, scope: 'openid' }),
    });
    const { user_code: userCode } = await started.json<{ user_code: string }>();
    const shown = await (await call(`/wechat/handoff/${userCode}`)).json<Record<string, unknown>>();
    expect(shown).toMatchObject({ kind: 'device', client_id: client.client_id, scopes: ['openid'], device: { browser: 'curl' } });
  });

  it("the client's site and logo when it registered them (https, never fetched)", async () => {
    const client = await register({ ...webClientMetadata, client_uri: 'https://rp.example.com/', logo_uri: 'https://rp.example.com/logo.png' });
    const loginId = await startLogin(new Browser(), authorizeUrl(client));
    expect(await (await call(`/wechat/handoff/${loginId}`)).json()).toMatchObject({
      client_uri: 'https://rp.example.com/',
      logo_uri: 'https://rp.example.com/logo.png',
    });
    const plain = await (await call(`/wechat/handoff/${await pendingLogin()}`)).json<Record<string, unknown>>();
    expect(plain).not.toHaveProperty('client_uri');
    expect(plain).not.toHaveProperty('logo_uri');
  });

  it('an expired login is 404 login_not_found', async () => {
    const loginId = await pendingLogin();
    expect((await call(`/wechat/handoff/${loginId}`)).status).toBe(200);
    await expire(loginId);
    const response = await call(`/wechat/handoff/${loginId}`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'login_not_found' });
  });

  it('an unknown, malformed or answered login is 404, with a JSON error', async () => {
    const loginId = await pendingLogin();
    expect((await call(`/wechat/handoff/${loginId}`)).status).toBe(200);
    expect((await approve(loginId)).status).toBe(200);
    for (const id of [loginId, 'no-such-login', 'x'.repeat(33), '%00']) {
      const response = await call(`/wechat/handoff/${id}`);
      expect(response.status, id).toBe(404);
      expect(await response.json(), id).toMatchObject({ error: 'login_not_found' });
    }
  });
});
