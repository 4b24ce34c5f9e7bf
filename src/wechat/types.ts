import type { WeChatApp } from '../config';

/** How requests reach WeChat: global `fetch` in production; the development entry hands in its fake. */
export type Transport = (request: Request) => Promise<Response>;

/** Who a WeChat login says the person is. */
export interface WeChatIdentity {
  appid: string;
  openid: string;
  unionid?: string;
  /** App logins with profile only. */
  nickname?: string;
  picture?: string;
  /** E.164 ("+8613800138000"), verified via getuserphonenumber, watermark.appid checked. */
  phoneNumber?: string;
}

/**
 * The WeChat side of the bridge. Failures are thrown as OAuthError:
 * invalid_grant (the code or the user), temporarily_unavailable (WeChat),
 * server_error (our configuration).
 */
export interface WeChat {
  /** Mobile app SendAuth code: sns/oauth2/access_token, then sns/userinfo when profile is wanted. */
  appLogin(app: WeChatApp, code: string, options: { profile: boolean }): Promise<WeChatIdentity>;
  /**
   * A web authorization's code (Official Account or Website App): the same
   * exchange as an app's; the profile only when the granted scope allows it.
   */
  webLogin(app: WeChatApp, code: string, options: { profile: boolean }): Promise<WeChatIdentity>;
  /** wx.login code: sns/jscode2session, then (optional) wxa/business/getuserphonenumber with the openid. */
  miniProgramLogin(app: WeChatApp, code: string, options: { phoneCode?: string }): Promise<WeChatIdentity>;
  /** wxa/getwxacodeunlimit: PNG bytes of a mini program code whose scene is `scene` (<= 32 chars). */
  miniProgramCode(app: WeChatApp, options: { scene: string; page?: string }): Promise<Uint8Array<ArrayBuffer>>;
  /** wxa/generatescheme: a weixin://dl/business/?t=... URL Scheme opening `path` with `query`. */
  urlScheme(app: WeChatApp, options: { path?: string; query: string; expireSeconds: number }): Promise<string>;
}
