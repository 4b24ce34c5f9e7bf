import { describe, expect, it } from 'vitest';
import { APP, MINI, callsFrom, client, faulty, mint, oauthError, pathOf, wechat } from './helpers';

// Mobile app login (SendAuth): sns/oauth2/access_token, then sns/userinfo.
describe('appLogin', () => {
  it('exchanges the code without asking for the profile', async () => {
    const { code, appid } = await mint({ kind: 'app', openid: 'oAppUser1', unionid: 'uUnion1', nickname: 'Alice' });
    const userinfo = await callsFrom('/sns/userinfo');
    const identity = await wechat().appLogin(APP, code, { profile: false });
    expect(appid).toBe(APP.appid);
    expect(identity).toEqual({ appid: APP.appid, openid: 'oAppUser1', unionid: 'uUnion1' });
    expect(identity.nickname).toBeUndefined();
    expect(await userinfo()).toBe(0);
  });

  it('reads the profile with sns/userinfo when asked', async () => {
    const avatar = 'https://thirdwx.qlogo.cn/mmopen/alice/132';
    const { code } = await mint({ kind: 'app', openid: 'oAppUser2', nickname: 'Alice', avatar });
    const userinfo = await callsFrom('/sns/userinfo');
    const identity = await client().appLogin(APP, code, { profile: true });
    expect(identity).toMatchObject({ appid: APP.appid, openid: 'oAppUser2', nickname: 'Alice', picture: avatar });
    expect(await userinfo()).toBe(1);
  });

  it('gives a fresh openid and no unionid unless minted with one', async () => {
    const first = await client().appLogin(APP, (await mint({ kind: 'app' })).code, { profile: true });
    const second = await client().appLogin(APP, (await mint({ kind: 'app' })).code, { profile: true });
    expect(first.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect(second.openid).not.toBe(first.openid);
    expect(first.unionid).toBeUndefined();
    expect(first.picture).toBeUndefined();
  });

  it('refuses snapshot users', async () => {
    const { code } = await mint({ kind: 'app', snapshot: true });
    const error = await oauthError(client().appLogin(APP, code, { profile: true }));
    expect([error.error, error.status]).toEqual(['invalid_grant', 400]);
  });

  it('refuses a used code and an unknown code', async () => {
    const { code } = await mint({ kind: 'app' });
    await client().appLogin(APP, code, { profile: false });
    const used = await oauthError(client().appLogin(APP, code, { profile: false }));
    expect([used.error, used.description]).toEqual(['invalid_grant', 'the WeChat code was already used']);
    const unknown = await oauthError(client().appLogin(APP, 'no-such-code', { profile: false }));
    expect([unknown.error, unknown.description]).toEqual(['invalid_grant', 'the WeChat code is invalid']);
  });

  it('refuses a mini program code', async () => {
    const { code } = await mint({ kind: 'miniprogram' });
    const error = await oauthError(client().appLogin(APP, code, { profile: false }));
    expect(error.error).toBe('invalid_grant');
  });

  it('never retries the code exchange, even on -1 busy', async () => {
    const { code } = await mint({ kind: 'app', error: -1 });
    const exchanges = await callsFrom('/sns/oauth2/access_token');
    const error = await oauthError(client().appLogin(APP, code, { profile: false }));
    expect([error.error, error.status]).toEqual(['temporarily_unavailable', 503]);
    expect(await exchanges()).toBe(1);
  });

  it('retries sns/userinfo once when WeChat is busy', async () => {
    const { transport, seen } = faulty((request, attempt) =>
      pathOf(request) === '/sns/userinfo' && attempt === 1 ? Response.json({ errcode: -1, errmsg: 'system error' }) : undefined,
    );
    const { code } = await mint({ kind: 'app', nickname: 'Bob' });
    const identity = await client(transport).appLogin(APP, code, { profile: true });
    expect(identity.nickname).toBe('Bob');
    expect(seen('/sns/userinfo')).toBe(2);
    expect(seen('/sns/oauth2/access_token')).toBe(1);
  });

  it('gives up on sns/userinfo after one retry', async () => {
    const { transport, seen } = faulty((request) =>
      pathOf(request) === '/sns/userinfo' ? new Response('bad gateway', { status: 502 }) : undefined,
    );
    const { code } = await mint({ kind: 'app' });
    const error = await oauthError(client(transport).appLogin(APP, code, { profile: true }));
    expect(error.error).toBe('temporarily_unavailable');
    expect(seen('/sns/userinfo')).toBe(2);
  });

  it('is a configuration error to log a mini program in as an app', async () => {
    const error = await oauthError(client().appLogin(MINI, 'any', { profile: false }));
    expect([error.error, error.status]).toEqual(['server_error', 500]);
  });
});
