import type { WeChatApp } from '../config';

/** Where WeChat serves its web authorization pages. */
export const WECHAT_WEB_ORIGIN = 'https://open.weixin.qq.com';

/** The WeChat scopes of a web authorization: silent, with a profile (Official Account), QR login (Website App). */
export type WebScope = 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login';

/**
 * The page a browser is sent to for WeChat's web authorization: an Official
 * Account's `connect/oauth2/authorize` (in WeChat's browser) or a Website
 * App's `connect/qrconnect` (a QR code on a desktop). WeChat wants the
 * parameters in exactly this order and the `#wechat_redirect` fragment; it
 * comes back to `redirectUri` with `code` and `state`, or `state` alone when
 * the person refused.
 */
export function webAuthorizationUrl(origin: string, app: WeChatApp, options: { redirectUri: string; scope: WebScope; state: string }): string {
  const page = app.kind === 'website' ? 'connect/qrconnect' : 'connect/oauth2/authorize';
  const query = [
    ['appid', app.appid],
    ['redirect_uri', options.redirectUri],
    ['response_type', 'code'],
    ['scope', options.scope],
    ['state', options.state],
  ]
    .map(([name, value]) => `${name}=${encodeURIComponent(value!)}`)
    .join('&');
  return `${origin}/${page}?${query}#wechat_redirect`;
}
