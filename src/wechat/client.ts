import type { WeChatApp, WeChatKind } from '../config';
import { serverError } from '../oidc/errors';
import { StableTokens } from './access-token';
import { appLogin } from './app';
import { toOAuthError, WeChatFailure } from './errcodes';
import { DEFAULT_RETRY_DELAY_MS, DEFAULT_TIMEOUT_MS, type Http, type Transport } from './http';
import type { WeChat } from './index';
import { miniProgramCode, urlScheme } from './links';
import { miniProgramLogin } from './miniprogram';

export interface ClientOptions {
  /** Per attempt; 5 s by default (`createWeChat` takes it from WECHAT_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Before the one retry of an idempotent read; 300 ms by default (`createWeChat` takes it from WECHAT_RETRY_DELAY_MS). */
  retryDelayMs?: number;
}

/** The WeChat client over any transport: `createWeChat` picks it; tests wrap the sandbox's to inject faults. */
export function createWeChatClient(transport: Transport, kv: KVNamespace, options: ClientOptions = {}): WeChat {
  const http: Http = { transport, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS };
  const tokens = new StableTokens(http, kv);
  return {
    appLogin: (app, code, opts) => run(app, 'app', () => appLogin(http, app, code, opts)),
    miniProgramLogin: (app, code, opts) => run(app, 'miniprogram', () => miniProgramLogin(http, tokens, app, code, opts)),
    miniProgramCode: (app, opts) => run(app, 'miniprogram', () => miniProgramCode(http, tokens, app, opts)),
    urlScheme: (app, opts) => run(app, 'miniprogram', () => urlScheme(http, tokens, app, opts)),
  };
}

/** The one place a WeChat failure becomes an OAuthError, and is logged (API path and errcode only, never the request). */
async function run<T>(app: WeChatApp, kind: WeChatKind, call: () => Promise<T>): Promise<T> {
  if (app.kind !== kind) throw serverError(`WeChat app ${app.appid} is not a ${kind}`);
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof WeChatFailure)) throw error;
    console.warn(`${error.message} (appid ${app.appid})`);
    throw toOAuthError(error);
  }
}
