import type { WeChatApp } from '../config';
import { type StableTokens, withAccessToken } from './access-token';
import { type Http, Malformed, requestImage, requestJson, string } from './http';

/** Ways into the mini program from outside WeChat: a code to scan, a link to tap. */

/** `wxa/getwxacodeunlimit`: a mini program code that opens `page` with `scene` (<= 32 chars) in its query. */
export function miniProgramCode(
  http: Http,
  tokens: StableTokens,
  app: WeChatApp,
  options: { scene: string; page?: string },
): Promise<Uint8Array<ArrayBuffer>> {
  return withAccessToken(tokens, app, (accessToken) =>
    requestImage(http, {
      api: 'wxa/getwxacodeunlimit',
      method: 'POST',
      query: { access_token: accessToken },
      // is_hyaline asks for a transparent PNG; the opaque default may come back as JPEG.
      body: { scene: options.scene, page: options.page, width: 430, is_hyaline: true },
      spendsCode: false,
    }),
  );
}

/** WeChat accepts an expiry more than a minute and at most 30 days away (errcode 85401 otherwise). */
const SCHEME_MIN_SECONDS = 120;
const SCHEME_MAX_SECONDS = 30 * 24 * 3600;

/** `wxa/generatescheme`: a `weixin://dl/business/?t=...` URL Scheme that opens `path?query`. */
export function urlScheme(
  http: Http,
  tokens: StableTokens,
  app: WeChatApp,
  options: { path?: string; query: string; expireSeconds: number },
): Promise<string> {
  const lifetime = Math.min(SCHEME_MAX_SECONDS, Math.max(SCHEME_MIN_SECONDS, Math.floor(options.expireSeconds)));
  return withAccessToken(tokens, app, (accessToken) =>
    requestJson(
      http,
      {
        api: 'wxa/generatescheme',
        method: 'POST',
        query: { access_token: accessToken },
        body: {
          jump_wxa: { path: options.path, query: options.query },
          is_expire: true,
          expire_type: 0,
          expire_time: Math.floor(Date.now() / 1000) + lifetime,
        },
        spendsCode: false,
      },
      (body) => {
        const openlink = string(body, 'openlink');
        if (!openlink.startsWith('weixin://')) throw new Malformed('openlink is not a weixin:// URL');
        return openlink;
      },
    ),
  );
}
