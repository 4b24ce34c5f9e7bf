/**
 * The WeChat sandbox (docs/protocol.md §6): a fake of WeChat's HTTP API to
 * hand the WeChat client as its transport, the routes that mint codes and
 * inject faults, the login page's stand-in for the mini program, and
 * stand-ins for WeChat's web authorization pages (an Official Account's, a
 * Website App's QR login). Only the development entry (src/dev.ts) imports it.
 */
import type { Env } from '../config';
import type { Transport } from '../wechat';
import { sandboxApi } from './wechat-api';

export { SandboxLoginForm } from './login-form';
export { parseMintRequest, SANDBOX_PATH, sandboxRoutes } from './routes';
export { sandboxPages } from './web-pages';
export { mintCode, type SandboxCode } from './wechat-api';
export type { SandboxFault } from './faults';

/** WeChat, served in process: the same requests the production client sends to api.weixin.qq.com. */
export const sandboxTransport =
  (env: Env): Transport =>
  async (request) =>
    sandboxApi.fetch(request, env);
