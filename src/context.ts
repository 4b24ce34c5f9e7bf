/** What every handler works with: the typed config, D1 via drizzle, and the keys. */
import type { Context } from 'hono';
import { getConfig, type Config, type Env } from './config';
import { database, type Db } from './store/db';
import { getKeySet, type KeySet } from './tokens/keys';

export type AppEnv = { Bindings: Env };
export type AppContext = Context<AppEnv>;

export interface Bridge {
  config: Config;
  env: Env;
  db: Db;
  /** Seconds since the epoch, fixed for the request. */
  now: number;
  keys(): Promise<KeySet>;
}

export function bridge(c: AppContext): Bridge {
  const env = c.env;
  return {
    config: getConfig(env),
    env,
    db: database(env.DB),
    now: Math.floor(Date.now() / 1000),
    keys: () => getKeySet(env.SIGNING_KEYS),
  };
}
