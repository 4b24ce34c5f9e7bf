import type { WeChatApp } from '../config';
import { invalidGrant } from '../errors';
import { type StableTokens, withAccessToken } from './access-token';
import { refuseSnapshotUser } from './app';
import { type Http, Malformed, object, optionalString, requestJson, string } from './http';
import type { WeChatIdentity } from './types';

/**
 * Mini program login: the `wx.login` code, exchanged with
 * `sns/jscode2session`; then, optionally, the `getPhoneNumber` button's code
 * with `wxa/business/getuserphonenumber`.
 */
export async function miniProgramLogin(
  http: Http,
  tokens: StableTokens,
  app: WeChatApp,
  code: string,
  options: { phoneCode?: string },
): Promise<WeChatIdentity> {
  const session = await requestJson(
    http,
    {
      api: 'sns/jscode2session',
      query: { appid: app.appid, secret: app.secret, js_code: code, grant_type: 'authorization_code' },
      spendsCode: true,
    },
    // session_key is deliberately not read: the bridge never needs it, so it never leaves this call.
    (body) => {
      refuseSnapshotUser(body);
      return { openid: string(body, 'openid'), unionid: optionalString(body, 'unionid') };
    },
  );
  const identity: WeChatIdentity = { appid: app.appid, ...session };
  // Only now: each getuserphonenumber call is paid for, so no phone code is spent on a failed login.
  if (options.phoneCode === undefined) return identity;
  return { ...identity, phoneNumber: await verifiedPhoneNumber(http, tokens, app, options.phoneCode, session.openid) };
}

async function verifiedPhoneNumber(http: Http, tokens: StableTokens, app: WeChatApp, code: string, openid: string): Promise<string> {
  const phone = await withAccessToken(tokens, app, (accessToken) =>
    requestJson(
      http,
      {
        api: 'wxa/business/getuserphonenumber',
        method: 'POST',
        query: { access_token: accessToken },
        body: { code, openid },
        spendsCode: true,
      },
      (body) => {
        const info = object(body, 'phone_info');
        return {
          watermarkAppid: string(object(info, 'watermark'), 'appid'),
          phoneNumber: e164(string(info, 'countryCode'), string(info, 'purePhoneNumber')),
        };
      },
    ),
  );
  // The watermark names the app the number was issued to; another app's number proves nothing here.
  if (phone.watermarkAppid !== app.appid) throw invalidGrant('the phone number was issued to another WeChat app');
  return phone.phoneNumber;
}

/** ITU-T E.164: "+", a country code, the national number, 15 digits at most. */
export function e164(countryCode: string, purePhoneNumber: string): string {
  const number = `+${countryCode}${purePhoneNumber}`;
  if (!/^\+[1-9]\d{6,14}$/.test(number)) throw new Malformed('phone number is not E.164');
  return number;
}
