import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sandboxRoutes } from '../../src/sandbox';
import { sandboxApi } from '../../src/sandbox/wechat-api';
import { APP, MINI, MINI2, mint, mintRequest } from '../wechat/helpers';

// POST /sandbox/wechat/codes (docs/protocol.md §6)
describe('minting sandbox codes', () => {
  it('defaults to the first configured app of the kind', async () => {
    expect((await mint({ kind: 'app' })).appid).toBe(APP.appid);
    expect((await mint({ kind: 'miniprogram' })).appid).toBe(MINI.appid);
    expect((await mint({ kind: 'phone' })).appid).toBe(MINI.appid);
    expect((await mint({ kind: 'phone', appid: MINI2.appid })).appid).toBe(MINI2.appid);
  });

  it('mints a fresh code every time', async () => {
    const first = await mint({ kind: 'miniprogram' });
    const second = await mint({ kind: 'miniprogram' });
    expect(first.code).not.toBe(second.code);
  });

  it.each([
    ['not JSON', '{kind:'],
    ['an array', []],
    ['no kind', {}],
    ['an unknown kind', { kind: 'web' }],
    ['an openid that is not a string', { kind: 'app', openid: 42 }],
    ['an empty openid', { kind: 'app', openid: '' }],
    ['a unionid with spaces', { kind: 'app', unionid: 'a b' }],
    ['a nickname that is not a string', { kind: 'app', nickname: ['Alice'] }],
    ['an avatar that is not a URL', { kind: 'app', avatar: 'alice.png' }],
    ['a phone that is not E.164', { kind: 'phone', phone: '12345' }],
    ['a snapshot that is not a boolean', { kind: 'app', snapshot: 'yes' }],
    ['an error that is not an integer', { kind: 'app', error: 40029.5 }],
    ['an error of 0', { kind: 'app', error: 0 }],
    ['an error given as a string', { kind: 'app', error: '40029' }],
    ['an appid that is not a string', { kind: 'app', appid: 1 }],
    ['an unknown appid', { kind: 'app', appid: 'wx00000000unknown' }],
    ['a mini program appid for an app code', { kind: 'app', appid: MINI.appid }],
    ['an app appid for a phone code', { kind: 'phone', appid: APP.appid }],
    ['an unknown field', { kind: 'app', snapshop: true }],
  ])('refuses %s with 400 invalid_request', async (_, body) => {
    const response = await mintRequest(body);
    expect(response.status).toBe(400);
    const json: { error: string; error_description: unknown } = await response.json();
    expect(json.error).toBe('invalid_request');
    expect(typeof json.error_description).toBe('string');
  });

  it('is 404 when asked through another host, whatever the issuer', async () => {
    const response = await sandboxRoutes.request(
      'https://id.example.com/codes',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'app' }) },
      env,
    );
    expect(response.status).toBe(404);
  });
});

// The fake api.weixin.qq.com, spoken to directly.
describe('the fake WeChat API', () => {
  const call = (path: string, init?: RequestInit) => sandboxApi.request(`https://api.weixin.qq.com${path}`, init, env);
  const session = (code: string, secret = MINI.secret) =>
    call(`/sns/jscode2session?appid=${MINI.appid}&secret=${secret}&js_code=${code}&grant_type=authorization_code`);

  it('answers jscode2session like WeChat, once per code', async () => {
    const { code } = await mint({ kind: 'miniprogram', openid: 'oFake1', unionid: 'uFake1' });
    const first: Record<string, unknown> = await (await session(code)).json();
    expect(first).toMatchObject({ openid: 'oFake1', unionid: 'uFake1' });
    expect(first.session_key).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(await (await session(code)).json()).toMatchObject({ errcode: 40163 });
    expect(await (await session('never-minted')).json()).toMatchObject({ errcode: 40029 });
  });

  it('leaves out unionid and is_snapshotuser unless minted', async () => {
    const plain: Record<string, unknown> = await (await session((await mint({ kind: 'miniprogram' })).code)).json();
    expect(plain).not.toHaveProperty('unionid');
    expect(plain).not.toHaveProperty('is_snapshotuser');
    const snapshot = await (await session((await mint({ kind: 'miniprogram', snapshot: true })).code)).json();
    expect(snapshot).toMatchObject({ is_snapshotuser: 1 });
  });

  it('checks the appid and secret', async () => {
    const { code } = await mint({ kind: 'miniprogram' });
    expect(await (await session(code, 'wrong')).json()).toMatchObject({ errcode: 40125 });
    const unknown = await call(`/sns/jscode2session?appid=wxnope&secret=x&js_code=${code}&grant_type=authorization_code`);
    expect(await unknown.json()).toMatchObject({ errcode: 40013 });
  });

  it('issues stable tokens and checks them on wxa APIs', async () => {
    const response = await call('/cgi-bin/stable_token', {
      method: 'POST',
      body: JSON.stringify({ grant_type: 'client_credential', appid: MINI2.appid, secret: MINI2.secret, force_refresh: false }),
    });
    const token: { access_token: string; expires_in: number } = await response.json();
    expect(token.expires_in).toBeGreaterThan(7000);
    const scheme = (accessToken: string) =>
      call(`/wxa/generatescheme?access_token=${accessToken}`, {
        method: 'POST',
        body: JSON.stringify({ jump_wxa: { path: '', query: 'a=1' }, expire_type: 1, expire_interval: 1 }),
      });
    expect(await (await scheme(token.access_token)).json()).toMatchObject({ errcode: 0, errmsg: 'ok' });
    expect(await (await scheme('forged')).json()).toMatchObject({ errcode: 40001 });
    expect(await (await call('/wxa/generatescheme', { method: 'POST', body: '{}' })).json()).toMatchObject({ errcode: 41001 });
  });

  it('answers getuserphonenumber with phone_info and its watermark', async () => {
    const tokenResponse = await call('/cgi-bin/stable_token', {
      method: 'POST',
      body: JSON.stringify({ grant_type: 'client_credential', appid: MINI.appid, secret: MINI.secret }),
    });
    const { access_token: accessToken }: { access_token: string } = await tokenResponse.json();
    const { code } = await mint({ kind: 'phone', phone: '+85291234567' });
    const response = await call(`/wxa/business/getuserphonenumber?access_token=${accessToken}`, {
      method: 'POST',
      body: JSON.stringify({ code }),
    });
    expect(await response.json()).toMatchObject({
      errcode: 0,
      phone_info: {
        phoneNumber: '+85291234567',
        purePhoneNumber: '91234567',
        countryCode: '852',
        watermark: { appid: MINI.appid, timestamp: expect.any(Number) },
      },
    });
  });
});
