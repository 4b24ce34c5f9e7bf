import type { WeChatApp, WeChatKind, WeChatSettings } from '../config';
import { serverError } from '../errors';
import { StableTokens } from './access-token';
import { snsLogin } from './app';
import { toOAuthError, WeChatFailure } from './errcodes';
import type { Http } from './http';
import { miniProgramCode, urlScheme } from './links';
import { miniProgramLogin } from './miniprogram';
import type { Transport, WeChat } from './types';

/**
 * The WeChat client over any transport: the production entry hands it
 * `fetch`, the development entry the sandbox; tests wrap the sandbox's to
 * inject faults. `kv` holds the shared access-token cache.
 */
export function createWeChatClient(transport: Transport, kv: KVNamespace, settings: WeChatSettings): WeChat {
  const http: Http = { transport, ...settings };
  const tokens = new StableTokens(http, kv);
  return {
    appLogin: (app, code, opts) => run(app, ['app'], () => snsLogin(http, app, code, opts)),
    webLogin: (app, code, opts) => run(app, ['officialaccount', 'website'], () => snsLogin(http, app, code, opts)),
    miniProgramLogin: (app, code, opts) => run(app, ['miniprogram'], () => miniProgramLogin(http, tokens, app, code, opts)),
    miniProgramCode: (app, opts) => run(app, ['miniprogram'], () => miniProgramCode(http, tokens, app, opts)),
    urlScheme: (app, opts) => run(app, ['miniprogram'], () => urlScheme(http, tokens, app, opts)),
  };
}

/** The one place a WeChat failure becomes an OAuthError, and is logged (API path and errcode only, never the request). */
async function run<T>(app: WeChatApp, kinds: readonly WeChatKind[], call: () => Promise<T>): Promise<T> {
  if (!kinds.includes(app.kind)) throw serverError(`WeChat app ${app.appid} is not a ${kinds.join(' or ')}`);
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof WeChatFailure)) throw error;
    console.warn(`${error.message} (appid ${app.appid})`);
    throw toOAuthError(error);
  }
}
