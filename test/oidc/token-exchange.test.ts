import { describe, expect, it } from 'vitest';
import {
  APP_CODE, basic, call, claimsOf, counts, exchange, ISSUER, login, MINIPROGRAM_CODE, mint, postForm, register, TOKEN_EXCHANGE, uniqueId,
} from '../support/oidc';

describe('token exchange of WeChat codes (RFC 8693, docs/protocol.md §4)', () => {
  it('exchanges a mobile app code for the tokens of docs/protocol.md §4 with the claims of §7', async () => {
    const client = await register();
    const openid = uniqueId('o');
    const unionid = uniqueId('u');
    const minted = await mint({ kind: 'app', openid, unionid, nickname: '小明', avatar: 'https://thirdwx.qlogo.cn/a.png' });
    const response = await exchange(client, minted.code, APP_CODE);
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const tokens = await response.json<Record<string, unknown>>();
    expect(tokens).toMatchObject({
      access_token: expect.any(String),
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'openid profile phone wechat offline_access',
      id_token: expect.any(String),
      refresh_token: expect.any(String),
    });
    const id = claimsOf(tokens.id_token as string);
    expect(id).toMatchObject({
      iss: ISSUER,
      aud: client.client_id,
      azp: client.client_id,
      acr: 'urn:wechat:acr:app',
      amr: ['wechat_app'],
      name: '小明',
      nickname: '小明',
      picture: 'https://thirdwx.qlogo.cn/a.png',
      wechat_appid: minted.appid,
      wechat_openid: openid,
      wechat_unionid: unionid,
    });
    expect(id.sub).toEqual(expect.any(String));
    expect([openid, unionid]).not.toContain(id.sub);
    expect(id.auth_time).toBe(id.iat);
    expect((id.exp as number) - (id.iat as number)).toBe(3600);
    const access = claimsOf(tokens.access_token as string);
    expect(access).toMatchObject({ iss: ISSUER, sub: id.sub, client_id: client.client_id, scope: tokens.scope });
  });

  it('exchanges a mini program code with a phone code for a verified E.164 number', async () => {
    const client = await register();
    const phone = await mint({ kind: 'phone', phone: '+8613800000001' });
    const tokens = await login(client, { kind: 'miniprogram' }, { wechat_phone_code: phone.code });
    expect(claimsOf(tokens.id_token!)).toMatchObject({ phone_number: '+8613800000001', phone_number_verified: true });
  });

  it('gives only what the scope asks for', async () => {
    const client = await register({ grant_types: [TOKEN_EXCHANGE] });
    const tokens = await login(client, { kind: 'app', nickname: 'n' }, { scope: 'openid offline_access made_up' });
    // offline_access needs the refresh_token grant; unknown scopes are dropped.
    expect(tokens.scope).toBe('openid');
    expect(tokens.refresh_token).toBeUndefined();
    expect(Object.keys(claimsOf(tokens.id_token!))).not.toContain('nickname');

    const noOpenid = await login(client, { kind: 'app' }, { scope: 'profile' });
    expect(noOpenid.id_token).toBeUndefined();
  });

  it('gives one subject to the same unionid from the app and the mini program', async () => {
    const client = await register();
    const unionid = uniqueId('u');
    const fromApp = await login(client, { kind: 'app', unionid });
    const fromMini = await login(client, { kind: 'miniprogram', unionid, appid: 'wx0000000000mini02' });
    expect(claimsOf(fromMini.id_token!).sub).toBe(claimsOf(fromApp.id_token!).sub);
    expect(claimsOf(fromMini.id_token!).wechat_openid).not.toBe(claimsOf(fromApp.id_token!).wechat_openid);
  });

  it('binds a new openid to the existing user with the same verified phone number', async () => {
    const client = await register();
    const number = `+86139${String(Date.now()).slice(-8)}`;
    const first = await login(client, { kind: 'miniprogram' }, { wechat_phone_code: (await mint({ kind: 'phone', phone: number })).code });
    // Another mini program, no unionid: only the phone number ties the two.
    const second = await login(
      client,
      { kind: 'miniprogram', appid: 'wx0000000000mini02' },
      { wechat_phone_code: (await mint({ kind: 'phone', phone: number, appid: 'wx0000000000mini02' })).code },
    );
    expect(claimsOf(second.id_token!).sub).toBe(claimsOf(first.id_token!).sub);
  });

  it.each([
    ['another openid in the same mini program (one WeChat account has one openid per app)', { appid: 'wx0000000000mini01' }, {}],
    ['another unionid', { appid: 'wx0000000000mini02', unionid: 'u-recycled-2' }, { unionid: 'u-recycled-1' }],
  ])('does not bind a recycled phone number to a user another WeChat account holds: %s', async (_, second, first) => {
    const client = await register();
    const number = `+86137${String(Date.now()).slice(-8)}`;
    const phoneCode = async (appid: string) => (await mint({ kind: 'phone', phone: number, appid })).code;
    const owner = await login(client, { kind: 'miniprogram', ...first }, { wechat_phone_code: await phoneCode('wx0000000000mini01') });
    const newcomer = await login(client, { kind: 'miniprogram', ...second }, { wechat_phone_code: await phoneCode(second.appid) });
    const [ownerClaims, newcomerClaims] = [claimsOf(owner.id_token!), claimsOf(newcomer.id_token!)];
    expect(newcomerClaims.sub).not.toBe(ownerClaims.sub);
    // The number stays with its first holder: two people are never merged, nor is a user's number taken silently.
    expect(ownerClaims.phone_number).toBe(number);
    expect(newcomerClaims.phone_number).toBeUndefined();
  });

  it('refuses a snapshot (virtual) user, writing nothing', async () => {
    const client = await register();
    for (const kind of ['app', 'miniprogram'] as const) {
      const before = await counts();
      const minted = await mint({ kind, snapshot: true });
      const response = await exchange(client, minted.code, kind === 'app' ? APP_CODE : MINIPROGRAM_CODE, { wechat_appid: minted.appid });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
      expect(await counts()).toEqual(before);
    }
  });

  it('refuses a used WeChat code with invalid_grant, writing nothing', async () => {
    const client = await register();
    const minted = await mint({ kind: 'miniprogram' });
    const first = await exchange(client, minted.code, MINIPROGRAM_CODE, { wechat_appid: minted.appid });
    expect(first.status).toBe(200);
    const before = await counts();
    const again = await exchange(client, minted.code, MINIPROGRAM_CODE, { wechat_appid: minted.appid });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await counts()).toEqual(before);
  });

  it.each([
    [40029, 400, 'invalid_grant'],
    [40163, 400, 'invalid_grant'],
    [42003, 400, 'invalid_grant'],
    [40226, 400, 'invalid_grant'],
    [-1, 503, 'temporarily_unavailable'],
    [45011, 503, 'temporarily_unavailable'],
    [40125, 500, 'server_error'],
  ])('maps WeChat errcode %i to %i %s, writing nothing', async (errcode, status, error) => {
    const client = await register();
    for (const kind of ['app', 'miniprogram'] as const) {
      const before = await counts();
      const minted = await mint({ kind, error: errcode });
      const response = await exchange(client, minted.code, kind === 'app' ? APP_CODE : MINIPROGRAM_CODE, { wechat_appid: minted.appid });
      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ error, error_description: expect.any(String) });
      if (status === 503) expect(response.headers.get('Retry-After')).toMatch(/^\d+$/);
      expect(await counts()).toEqual(before);
    }
  });

  it('refuses a bad phone code after a good login code, writing nothing', async () => {
    const client = await register();
    const before = await counts();
    const minted = await mint({ kind: 'miniprogram' });
    const response = await exchange(client, minted.code, MINIPROGRAM_CODE, { wechat_appid: minted.appid, wechat_phone_code: 'nosuchcode' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await counts()).toEqual(before);
  });

  describe('request checks', () => {
    it('needs wechat_appid when several apps of the kind are configured, and only allows the client its apps', async () => {
      const client = await register();
      const minted = await mint({ kind: 'miniprogram' });
      const ambiguous = await exchange(client, minted.code, MINIPROGRAM_CODE);
      expect(ambiguous.status).toBe(400);
      expect(await ambiguous.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('wechat_appid') });

      const restricted = await register({ wechat_appids: ['wx0000000000mini02'] });
      const other = await exchange(restricted, minted.code, MINIPROGRAM_CODE, { wechat_appid: 'wx0000000000mini01' });
      expect(other.status).toBe(400);
      // With one allowed mini program, wechat_appid is not needed.
      const own = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini02' });
      expect((await exchange(restricted, own.code, MINIPROGRAM_CODE)).status).toBe(200);
    });

    it.each([
      ['no subject_token', { subject_token: '' }, 'invalid_request'],
      ['an unknown subject_token_type', { subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' }, 'invalid_request'],
      ['an actor_token', { actor_token: 'x', actor_token_type: 'urn:ietf:params:oauth:token-type:jwt' }, 'invalid_request'],
      ['a requested_token_type it cannot issue', { requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'invalid_request'],
      ['a phone code with an app code', { subject_token_type: APP_CODE, wechat_phone_code: 'abc' }, 'invalid_request'],
      ['a malformed scope', { scope: 'openid  profile' }, 'invalid_scope'],
      ['a code that cannot be a WeChat code', { subject_token: 'a'.repeat(500) }, 'invalid_grant'],
    ])('refuses %s', async (_, override, error) => {
      const client = await register();
      const response = await exchange(client, 'somecode', MINIPROGRAM_CODE, { wechat_appid: 'wx0000000000mini01', ...override });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error });
    });

    it('refuses a client not registered for token exchange', async () => {
      const client = await register({ grant_types: ['authorization_code'], redirect_uris: ['https://rp.example/cb'] });
      const response = await exchange(client, 'somecode', MINIPROGRAM_CODE, { wechat_appid: 'wx0000000000mini01' });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'unauthorized_client' });
    });

    it('refuses an unknown grant type and a missing one', async () => {
      const client = await register();
      const unknown = await postForm('/token', client, { grant_type: 'password' });
      expect(await unknown.json()).toMatchObject({ error: 'unsupported_grant_type' });
      const missing = await postForm('/token', client, {});
      expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('refuses a repeated parameter and a body that is not a form', async () => {
      const client = await register();
      const repeated = await call('/token', {
        method: 'POST',
        headers: { Authorization: basic(client), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `grant_type=${encodeURIComponent(TOKEN_EXCHANGE)}&scope=openid&scope=profile`,
      });
      expect(repeated.status).toBe(400);
      expect(await repeated.json()).toMatchObject({ error: 'invalid_request' });
      const json = await call('/token', {
        method: 'POST',
        headers: { Authorization: basic(client), 'Content-Type': 'application/json' },
        body: JSON.stringify({ grant_type: TOKEN_EXCHANGE }),
      });
      expect(json.status).toBe(400);
      expect(await json.json()).toMatchObject({ error: 'invalid_request' });
    });
  });

  describe('client authentication (RFC 6749 §2.3)', () => {
    const form = { grant_type: TOKEN_EXCHANGE, subject_token: 'x', subject_token_type: APP_CODE };

    it('accepts client_secret_post and none as registered', async () => {
      for (const method of ['client_secret_post', 'none']) {
        const client = await register({ token_endpoint_auth_method: method });
        const tokens = await login(client, { kind: 'app' });
        expect(claimsOf(tokens.access_token).client_id).toBe(client.client_id);
      }
    });

    it.each([
      ['a wrong secret', (c: { client_id: string }) => ({ Authorization: `Basic ${btoa(`${c.client_id}:wrong`)}` }), {}],
      ['an unknown client', () => ({ Authorization: `Basic ${btoa('nobody:secret')}` }), {}],
      ['malformed Basic credentials', () => ({ Authorization: 'Basic !!!' }), {}],
      ['no credentials at all', () => ({}), {}],
      ['client_id alone for a confidential client', () => ({}), { client_id: 'self' }],
      ['the secret in the body for a client_secret_basic client', () => ({}), { client_id: 'self', client_secret: 'self' }],
    ])('answers %s with 401 invalid_client and a challenge', async (_, headers, body) => {
      const client = await register();
      const params = Object.fromEntries(
        Object.entries({ ...form, ...body }).map(([k, v]) => [k, v === 'self' ? (k === 'client_id' ? client.client_id : client.client_secret!) : v]),
      );
      const response = await call('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers(client) },
        body: new URLSearchParams(params),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('WWW-Authenticate')).toMatch(/^Basic realm=/);
      expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    });

    it('refuses two authentication methods at once', async () => {
      const client = await register();
      const response = await call('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(client) },
        body: new URLSearchParams({ ...form, client_id: client.client_id, client_secret: client.client_secret! }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_request' });
    });
  });
});
