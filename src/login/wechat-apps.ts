/** Which configured WeChat app a request means: a policy decision, as a pure function. */
import type { Config, WeChatApp, WeChatKind } from '../config';
import { invalidRequest } from '../errors';
import type { Client } from '../types';

/** The app named by `appid`, or the only one of `kind` this client may use. */
export function chooseWeChatApp(config: Config, client: Client, kind: WeChatKind, appid: string | undefined): WeChatApp {
  const allowed = client.metadata.wechat_appids;
  const candidates = config.wechatApps.filter(
    (app) => app.kind === kind && (!allowed || allowed.includes(app.appid)) && (appid === undefined || app.appid === appid),
  );
  if (candidates.length === 1) return candidates[0]!;
  if (appid !== undefined) throw invalidRequest(`wechat_appid is not a WeChat ${kind} this client may use`);
  if (candidates.length === 0) throw invalidRequest(`no WeChat ${kind} is available to this client`);
  throw invalidRequest(`several WeChat apps of kind ${kind} are configured: wechat_appid is required`);
}

/** The app of `kind` that a client's browser logins use: the first one it may use. */
export function loginApp(config: Config, client: Client, kind: WeChatKind): WeChatApp | undefined {
  const allowed = client.metadata.wechat_appids;
  return config.wechatApps.find((app) => app.kind === kind && (!allowed || allowed.includes(app.appid)));
}

/** The mini program that shows a client's logins. */
export const loginMiniProgram = (config: Config, client: Client) => loginApp(config, client, 'miniprogram');

/** WeChat codes are short alphanumeric strings; anything else is not worth a call to WeChat. */
export const isWeChatCode = (value: string) => /^[A-Za-z0-9_-]{1,128}$/.test(value);
