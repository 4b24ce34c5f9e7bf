/**
 * A client of WeChat's HTTP API (docs/wechat.md): errcodes, retry rules and
 * the access-token cache. It knows nothing of OIDC or of the login flow; the
 * entry point hands it its transport.
 */
export { createWeChatClient } from './client';
export type { Transport, WeChat, WeChatIdentity } from './types';
export { WECHAT_WEB_ORIGIN, webAuthorizationUrl, type WebScope } from './web-authorization';
