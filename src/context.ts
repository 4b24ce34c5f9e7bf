/** What every handler works with: the typed config, D1 via drizzle, the keys and the WeChat client. */
import type { Context } from 'hono';
import type { LoginPageAddOn } from './ui/login-page';
import { getConfig, type Config, type Env } from './config';
import { logSummary } from './errors';
import { database, type Db } from './store/db';
import { getKeyRing, type KeySet } from './tokens/keys';
import { createWeChatClient, type Transport, type WeChat } from './wechat';

export interface AppVariables {
  /** How this app reaches WeChat: chosen by the entry point (src/index.ts, src/dev.ts). */
  wechatTransport: Transport;
  /** Where a browser finds WeChat's web authorization pages, for this issuer. */
  wechatWebOrigin: (issuer: string) => string;
  /** Pages: where this page's form may lead besides the issuer (src/web/pages.ts). */
  formTargets?: string[];
  /** The development entry's addition to the login page (the sandbox's stand-in for the mini program). */
  loginPageAddOn?: LoginPageAddOn;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };
export type AppContext = Context<AppEnv>;

export interface Bridge {
  config: Config;
  env: Env;
  db: Db;
  /** Seconds since the epoch, fixed for the request. */
  now: number;
  /** The signing keys as they stand at `now`: which key signs, which are published. */
  keys(): Promise<KeySet>;
  /** The WeChat client over the entry point's transport. */
  wechat(): WeChat;
  /** Lets work finish after the response is sent (ExecutionContext.waitUntil); a failure is logged, never thrown. */
  defer(task: Promise<unknown>): void;
}

export function bridge(c: AppContext): Bridge {
  const env = c.env;
  const config = getConfig(env);
  const now = Math.floor(Date.now() / 1000);
  return {
    config,
    env,
    db: database(env.DB),
    now,
    keys: () => keysAt(env, config, now),
    wechat: () => createWeChatClient(c.var.wechatTransport, env.KV, config.wechat),
    defer: (task) => c.executionCtx.waitUntil(task.catch((error: unknown) => console.error(`deferred work failed: ${logSummary(error)}`))),
  };
}

/** The signing keys as they stand at `now` (src/tokens/keys.ts), for a request or the queue's consumer. */
export async function keysAt(env: Env, config: Config, now: number): Promise<KeySet> {
  // A retired key stays published while a token it signed may be alive: the longest-lived are these.
  const tokenLifetime = Math.max(config.ttl.accessToken, config.ttl.idToken);
  return (await getKeyRing(env.SIGNING_KEYS, tokenLifetime)).at(now);
}
