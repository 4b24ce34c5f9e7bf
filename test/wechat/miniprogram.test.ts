import { describe, expect, it } from 'vitest';
import { APP, MINI, MINI2, callsFrom, client, faulty, mint, oauthError, pathOf, sandbox, wechat } from './helpers';

const PHONE = '/wxa/business/getuserphonenumber';

// Mini program login: sns/jscode2session, then wxa/business/getuserphonenumber.
describe('miniProgramLogin', () => {
  it('exchanges a wx.login code', async () => {
    const { code, appid } = await mint({ kind: 'miniprogram', openid: 'oMiniUser1', unionid: 'uUnion2' });
    const phone = await callsFrom(PHONE);
    const identity = await wechat().miniProgramLogin(MINI, code, {});
    expect(appid).toBe(MINI.appid);
    expect(identity).toEqual({ appid: MINI.appid, openid: 'oMiniUser1', unionid: 'uUnion2' });
    expect(await phone()).toBe(0);
  });

  it('adds the verified phone number in E.164', async () => {
    const login = await mint({ kind: 'miniprogram' });
    const phone = await mint({ kind: 'phone', phone: '+8613800138000' });
    expect(phone.appid).toBe(MINI.appid);
    const identity = await client().miniProgramLogin(MINI, login.code, { phoneCode: phone.code });
    expect(identity.phoneNumber).toBe('+8613800138000');
  });

  it.each([
    ['+85291234567', '+85291234567'],
    ['+14155550100', '+14155550100'],
    ['13900139000', '+8613900139000'],
  ])('turns countryCode and purePhoneNumber of %s into %s', async (minted, expected) => {
    const login = await mint({ kind: 'miniprogram', appid: MINI2.appid });
    const phone = await mint({ kind: 'phone', phone: minted, appid: MINI2.appid });
    const identity = await client().miniProgramLogin(MINI2, login.code, { phoneCode: phone.code });
    expect(identity.phoneNumber).toBe(expected);
  });

  it('never hands out the session_key', async () => {
    let sessionKey = '';
    const { transport } = faulty(async (request) => {
      if (pathOf(request) !== '/sns/jscode2session') return undefined;
      const body: { session_key?: string } = await (await sandbox(request)).json();
      sessionKey = body.session_key ?? '';
      return Response.json(body);
    });
    const identity = await client(transport).miniProgramLogin(MINI, (await mint({ kind: 'miniprogram' })).code, {});
    expect(sessionKey).not.toBe('');
    expect(JSON.stringify(identity)).not.toContain(sessionKey);
    const present = Object.entries(identity).filter(([, value]) => value !== undefined);
    expect(present.map(([key]) => key).sort()).toEqual(['appid', 'openid']);
  });

  it('refuses snapshot users', async () => {
    const { code } = await mint({ kind: 'miniprogram', snapshot: true });
    const error = await oauthError(client().miniProgramLogin(MINI, code, {}));
    expect([error.error, error.status]).toEqual(['invalid_grant', 400]);
  });

  it('refuses a used code', async () => {
    const { code } = await mint({ kind: 'miniprogram' });
    await client().miniProgramLogin(MINI, code, {});
    const error = await oauthError(client().miniProgramLogin(MINI, code, {}));
    expect([error.error, error.description]).toEqual(['invalid_grant', 'the WeChat code was already used']);
  });

  it("refuses another mini program's code", async () => {
    const { code } = await mint({ kind: 'miniprogram', appid: MINI2.appid });
    const error = await oauthError(client().miniProgramLogin(MINI, code, {}));
    expect(error.error).toBe('invalid_grant');
  });

  it('exchanges the paid phone code only after jscode2session succeeded', async () => {
    const login = await mint({ kind: 'miniprogram', error: 40029 });
    const phone = await mint({ kind: 'phone', phone: '+8613700137000' });
    const phoneCalls = await callsFrom(PHONE);
    const error = await oauthError(client().miniProgramLogin(MINI, login.code, { phoneCode: phone.code }));
    expect(error.error).toBe('invalid_grant');
    expect(await phoneCalls()).toBe(0);
    // The phone code is still good for the next attempt.
    const retry = await client().miniProgramLogin(MINI, (await mint({ kind: 'miniprogram' })).code, { phoneCode: phone.code });
    expect(retry.phoneNumber).toBe('+8613700137000');
  });

  it('passes the openid to getuserphonenumber', async () => {
    let sent: unknown;
    const { transport } = faulty(async (request) => {
      if (pathOf(request) === PHONE) sent = await request.clone().json();
      return undefined;
    });
    const login = await mint({ kind: 'miniprogram', openid: 'oMiniUser3' });
    const phone = await mint({ kind: 'phone' });
    await client(transport).miniProgramLogin(MINI, login.code, { phoneCode: phone.code });
    expect(sent).toEqual({ code: phone.code, openid: 'oMiniUser3' });
  });

  it('refuses a used or failing phone code', async () => {
    const phone = await mint({ kind: 'phone' });
    await client().miniProgramLogin(MINI, (await mint({ kind: 'miniprogram' })).code, { phoneCode: phone.code });
    const used = await oauthError(client().miniProgramLogin(MINI, (await mint({ kind: 'miniprogram' })).code, { phoneCode: phone.code }));
    expect(used.error).toBe('invalid_grant');
    const expired = await mint({ kind: 'phone', error: 42003 });
    const error = await oauthError(
      client().miniProgramLogin(MINI, (await mint({ kind: 'miniprogram' })).code, { phoneCode: expired.code }),
    );
    expect([error.error, error.description]).toEqual(['invalid_grant', 'the WeChat code has expired']);
  });

  it('refuses a phone number whose watermark names another app', async () => {
    const { transport } = faulty(async (request) => {
      if (pathOf(request) !== PHONE) return undefined;
      const body: { phone_info: { watermark: { appid: string } } } = await (await sandbox(request)).json();
      body.phone_info.watermark.appid = MINI2.appid;
      return Response.json(body);
    });
    const login = await mint({ kind: 'miniprogram' });
    const phone = await mint({ kind: 'phone' });
    const error = await oauthError(client(transport).miniProgramLogin(MINI, login.code, { phoneCode: phone.code }));
    expect([error.error, error.status]).toEqual(['invalid_grant', 400]);
    expect(error.description).toContain('another WeChat app');
  });

  it('never retries jscode2session or getuserphonenumber on -1 busy', async () => {
    const sessions = await callsFrom('/sns/jscode2session');
    const busyLogin = await mint({ kind: 'miniprogram', error: -1 });
    const loginError = await oauthError(client().miniProgramLogin(MINI, busyLogin.code, {}));
    expect(loginError.error).toBe('temporarily_unavailable');
    expect(await sessions()).toBe(1);

    const phoneCalls = await callsFrom(PHONE);
    const busyPhone = await mint({ kind: 'phone', error: -1 });
    const phoneError = await oauthError(
      client().miniProgramLogin(MINI, (await mint({ kind: 'miniprogram' })).code, { phoneCode: busyPhone.code }),
    );
    expect(phoneError.error).toBe('temporarily_unavailable');
    expect(await phoneCalls()).toBe(1);
  });

  it('is a configuration error to log an app in as a mini program', async () => {
    const error = await oauthError(client().miniProgramLogin(APP, 'any', {}));
    expect(error.error).toBe('server_error');
  });
});
