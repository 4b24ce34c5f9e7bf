import type { WeChatApp } from '../config';
import { invalidGrant } from '../errors';
import { type Http, type Json, optionalString, requestJson, string } from './http';
import type { WeChatIdentity } from './types';

/**
 * WeChat's OAuth codes: a mobile app's (the OpenSDK's SendAuth), and the web
 * authorizations' (an Official Account's in WeChat's browser, a Website
 * App's QR login), exchanged alike with `sns/oauth2/access_token`, then
 * `sns/userinfo` for the profile when the granted scope allows it.
 */
export async function snsLogin(http: Http, app: WeChatApp, code: string, options: { profile: boolean }): Promise<WeChatIdentity> {
  const grant = await requestJson(
    http,
    {
      api: 'sns/oauth2/access_token',
      query: { appid: app.appid, secret: app.secret, code, grant_type: 'authorization_code' },
      spendsCode: true,
    },
    (body) => {
      refuseSnapshotUser(body);
      return {
        accessToken: string(body, 'access_token'),
        openid: string(body, 'openid'),
        unionid: optionalString(body, 'unionid'),
        scopes: (optionalString(body, 'scope') ?? '').split(','),
      };
    },
  );
  const identity: WeChatIdentity = { appid: app.appid, openid: grant.openid, unionid: grant.unionid };
  // Under snsapi_base, sns/userinfo would answer 48001: the person gave no profile.
  if (!options.profile || !grant.scopes.some((scope) => PROFILE_SCOPES.has(scope))) return identity;

  const profile = await requestJson(
    http,
    { api: 'sns/userinfo', query: { access_token: grant.accessToken, openid: grant.openid, lang: 'zh_CN' }, spendsCode: false },
    (body) => ({
      unionid: optionalString(body, 'unionid'),
      nickname: optionalString(body, 'nickname'),
      picture: optionalString(body, 'headimgurl'),
    }),
  );
  return { ...identity, unionid: identity.unionid ?? profile.unionid, nickname: profile.nickname, picture: profile.picture };
}

/** The WeChat scopes whose token may read `sns/userinfo`. */
const PROFILE_SCOPES = new Set(['snsapi_userinfo', 'snsapi_login']);

/** `is_snapshotuser: 1` is the virtual user of a Moments snapshot page: it must never sign in. */
export function refuseSnapshotUser(body: Json): void {
  if (body.is_snapshotuser === 1) throw invalidGrant('WeChat snapshot users cannot sign in');
}
