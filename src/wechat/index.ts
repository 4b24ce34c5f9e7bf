import type { Hono } from 'hono';
import type { Config, Env, WeChatApp } from '../config';
import { createWeChatClient } from './client';
import { wechatRetryDelayMs, wechatTimeoutMs } from './http';
import { sandboxApi } from './sandbox';
import { sandboxCodes } from './sandbox-codes';

/**
 * The WeChat side of the bridge. Failures are thrown as OAuthError:
 * invalid_grant (the code or the user), temporarily_unavailable (WeChat),
 * server_error (our configuration).
 */

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

export interface WeChat {
  /** Mobile app SendAuth code: sns/oauth2/access_token, then sns/userinfo when profile is wanted. */
  appLogin(app: WeChatApp, code: string, options: { profile: boolean }): Promise<WeChatIdentity>;
  /** wx.login code: sns/jscode2session, then (optional) wxa/business/getuserphonenumber with the openid. */
  miniProgramLogin(app: WeChatApp, code: string, options: { phoneCode?: string }): Promise<WeChatIdentity>;
  /** wxa/getwxacodeunlimit: PNG bytes of a mini program code whose scene is `scene` (<= 32 chars). */
  miniProgramCode(app: WeChatApp, options: { scene: string; page?: string }): Promise<Uint8Array<ArrayBuffer>>;
  /** wxa/generatescheme: a weixin://dl/business/?t=... URL Scheme opening `path` with `query`. */
  urlScheme(app: WeChatApp, options: { path?: string; query: string; expireSeconds: number }): Promise<string>;
}

/** The same client in production and sandbox; only the transport differs. */
export function createWeChat(config: Config, env: Env): WeChat {
  const transport = config.sandbox
    ? async (request: Request) => sandboxApi.fetch(request, env)
    : (request: Request) => fetch(request);
  return createWeChatClient(transport, env.KV, { timeoutMs: wechatTimeoutMs(env), retryDelayMs: wechatRetryDelayMs(env) });
}

export type { WeChatEnv } from './http';
export type { SandboxFault } from './sandbox-faults';

/**
 * `POST /codes` mints sandbox codes (SPEC.md §6), `POST|DELETE /faults` queues
 * faults, `GET /calls` counts requests (see "Fault injection" in sandbox.ts);
 * mount at `/sandbox/wechat` only when `config.sandbox`.
 */
export const sandboxRoutes: Hono<{ Bindings: Env }> = sandboxCodes;
