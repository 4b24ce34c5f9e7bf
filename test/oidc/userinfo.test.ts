import { describe, expect, it } from 'vitest';
import { call, claimsOf, login, mint, register, uniqueId } from '../support/oidc';

describe('userinfo (OpenID Connect Core §5.3)', () => {
  it('returns the claims of the token scopes, by GET and by POST', async () => {
    const client = await register();
    const unionid = uniqueId('u');
    const phone = await mint({ kind: 'phone', phone: '+8613700000002', appid: 'wx0000000000mini02' });
    const tokens = await login(client, { kind: 'miniprogram', appid: 'wx0000000000mini02', unionid }, { wechat_phone_code: phone.code });
    const sub = claimsOf(tokens.id_token!).sub;

    const byGet = await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(byGet.status).toBe(200);
    const claims = await byGet.json<Record<string, unknown>>();
    expect(claims).toMatchObject({
      sub,
      phone_number: '+8613700000002',
      phone_number_verified: true,
      wechat_appid: 'wx0000000000mini02',
      wechat_unionid: unionid,
    });

    const byPost = await call('/userinfo', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: tokens.access_token }),
    });
    expect(await byPost.json()).toEqual(claims);
  });

  it('releases only the scopes granted', async () => {
    const client = await register();
    const phone = await mint({ kind: 'phone', phone: '+8613700000003' });
    const tokens = await login(client, { kind: 'miniprogram', appid: 'wx0000000000mini01' }, { scope: 'openid', wechat_phone_code: phone.code });
    const claims = await (await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).json();
    expect(Object.keys(claims as object)).toEqual(['sub']);
  });

  it('answers 401 with a Bearer challenge for a missing, forged or foreign token', async () => {
    const client = await register();
    const tokens = await login(client, { kind: 'app' });
    const [header, payload] = tokens.access_token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(342)}`;
    for (const authorization of [undefined, 'Bearer nonsense', `Bearer ${forged}`, `Bearer ${tokens.id_token}`]) {
      const response = await call('/userinfo', { headers: authorization ? { Authorization: authorization } : {} });
      expect(response.status).toBe(401);
      expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
    }
  });

  it('answers 403 insufficient_scope without openid', async () => {
    const client = await register();
    const tokens = await login(client, { kind: 'app' }, { scope: 'profile' });
    const response = await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(response.status).toBe(403);
    expect(response.headers.get('WWW-Authenticate')).toContain('insufficient_scope');
  });

  it('refuses a token sent twice (RFC 6750 §2)', async () => {
    const client = await register();
    const tokens = await login(client, { kind: 'app' });
    const response = await call('/userinfo', {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.access_token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: tokens.access_token }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });
});
