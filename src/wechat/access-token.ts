import type { WeChatApp } from '../config';
import { isAccessTokenRefused } from './errcodes';
import { type Http, number, requestJson, string } from './http';

/**
 * The mini program's access token from `cgi-bin/stable_token` (not
 * `cgi-bin/token`, whose every call invalidates the previous token),
 * cached in KV so every isolate shares it.
 */

interface CachedToken {
  token: string;
  /** Epoch ms after which we fetch again, a few minutes before WeChat's expiry. */
  refreshAt: number;
}

const cacheKey = (appid: string) => `wechat:stable_token:${appid}`;

/** KV refuses an expirationTtl under 60 s. */
const KV_MIN_TTL = 60;
/** Refresh this long before WeChat's expiry, or after half the lifetime when that is shorter. */
const REFRESH_MARGIN = 300;

/** One fetch per appid in flight per isolate, so a burst of callers after expiry makes one call, not a storm. */
const inflight = new Map<string, Promise<string>>();

export class StableTokens {
  constructor(
    private readonly http: Http,
    private readonly kv: KVNamespace,
  ) {}

  async get(app: WeChatApp): Promise<string> {
    const cached = await this.read(app);
    if (cached && cached.refreshAt > Date.now()) return cached.token;
    return this.fetch(app);
  }

  /** WeChat refused `refused`: drop it, unless another caller has already replaced it. */
  async replace(app: WeChatApp, refused: string): Promise<string> {
    const cached = await this.read(app);
    if (cached && cached.token !== refused && cached.refreshAt > Date.now()) return cached.token;
    if (cached?.token === refused) await this.kv.delete(cacheKey(app.appid));
    return this.fetch(app);
  }

  private fetch(app: WeChatApp): Promise<string> {
    let pending = inflight.get(app.appid);
    if (!pending) {
      pending = this.fetchAndStore(app).finally(() => inflight.delete(app.appid));
      inflight.set(app.appid, pending);
    }
    return pending;
  }

  private async fetchAndStore(app: WeChatApp): Promise<string> {
    const { token, expiresIn } = await requestJson(
      this.http,
      {
        api: 'cgi-bin/stable_token',
        method: 'POST',
        query: {},
        // force_refresh would invalidate the token other isolates hold (and is limited to 20 a day).
        body: { grant_type: 'client_credential', appid: app.appid, secret: app.secret, force_refresh: false },
        spendsCode: false,
      },
      (body) => ({ token: string(body, 'access_token'), expiresIn: number(body, 'expires_in') }),
    );
    const keep = Math.max(KV_MIN_TTL, Math.floor(expiresIn - Math.min(REFRESH_MARGIN, expiresIn / 2)));
    const cached: CachedToken = { token, refreshAt: Date.now() + keep * 1000 };
    await this.kv.put(cacheKey(app.appid), JSON.stringify(cached), { expirationTtl: keep });
    return token;
  }

  private async read(app: WeChatApp): Promise<CachedToken | undefined> {
    const value = await this.kv.get(cacheKey(app.appid));
    if (value === null) return undefined;
    try {
      const parsed: unknown = JSON.parse(value);
      const { token, refreshAt } = parsed as Partial<CachedToken>;
      if (typeof token === 'string' && typeof refreshAt === 'number') return { token, refreshAt };
    } catch {
      // An unreadable entry is as good as none: fetch a new token over it.
    }
    return undefined;
  }
}

/**
 * Runs `call` with the app's access token. On 40001 / 40014 / 42001 the
 * token was refused before anything else was looked at (so a phone code is
 * not spent yet): replace the token and run `call` once more.
 */
export async function withAccessToken<T>(tokens: StableTokens, app: WeChatApp, call: (token: string) => Promise<T>): Promise<T> {
  const token = await tokens.get(app);
  try {
    return await call(token);
  } catch (error) {
    if (!isAccessTokenRefused(error)) throw error;
    return call(await tokens.replace(app, token));
  }
}
