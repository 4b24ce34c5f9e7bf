/**
 * WeChat web authorizations under way (docs/protocol.md §5a), in KV under
 * `wechat_state:<state>`: which pending login the `state` WeChat returns
 * belongs to, and the browser that left for WeChat with it.
 */
import { getUnexpired, putExpiring } from './kv';

export interface WebAuthorization {
  loginId: string;
  appid: string;
  /** The WeChat scope asked for: snsapi_base, snsapi_userinfo or snsapi_login. */
  scope: string;
  /** SHA-256 of the cookie that the browser carries back to the callback. */
  browserHash: string;
  expiresAt: number;
}

export const putWebAuthorization = (kv: KVNamespace, state: string, value: WebAuthorization, now: number) =>
  putExpiring(kv, `wechat_state:${state}`, value, now);
export const getWebAuthorization = (kv: KVNamespace, state: string, now: number) =>
  getUnexpired<WebAuthorization>(kv, `wechat_state:${state}`, now);
