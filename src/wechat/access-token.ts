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

/**
 * A burst of callers after expiry makes one call per isolate, not a storm:
 * one caller per appid fetches (`refreshing` notes since when), and the
 * others wait for its outcome (`latest`, or `failures` when it failed). A
 * caller whose cache read was already stale when another caller's fetch
 * completed takes that fetch's outcome too instead of starting one more. The
 * generation (`mark`) says which fetches completed after a caller looked.
 *
 * Only settled values are shared, never a pending promise: workerd ties a
 * promise to the request that created it, and a request awaiting a promise
 * another request created may not resume until some later event wakes the
 * isolate, or ever if that request is canceled mid-fetch. So waiters poll
 * these maps on their own timers, and take over the fetch when the one they
 * wait for has had all the time it may take (its request may be gone).
 */
const refreshing = new Map<string, { since: number }>();
const latest = new Map<string, CachedToken & { generation: number }>();
const failures = new Map<string, { error: unknown; generation: number }>();
let generations = 0;

/** How often a waiting caller looks for the outcome of the fetch it waits for. */
const POLL_MS = 10;
/** Beyond the fetch's own timeouts: the KV write of the new token. */
const STORE_SLACK_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class StableTokens {
  constructor(
    private readonly http: Http,
    private readonly kv: KVNamespace,
  ) {}

  /** Take before reading the cache: fetches completed since have a greater generation. */
  mark(app: WeChatApp): number {
    return Math.max(latest.get(app.appid)?.generation ?? 0, failures.get(app.appid)?.generation ?? 0);
  }

  async get(app: WeChatApp, mark = this.mark(app)): Promise<string> {
    const cached = await this.read(app);
    if (cached && cached.refreshAt > Date.now()) return cached.token;
    return this.fetch(app, mark);
  }

  /**
   * WeChat refused `refused` (obtained at `mark`): a token another caller
   * fetched since, or a new one. The refused token is not deleted from KV
   * (that could race with a fresh one being stored): the fetch overwrites it.
   */
  async replace(app: WeChatApp, refused: string, mark: number): Promise<string> {
    const cached = await this.read(app);
    if (cached && cached.token !== refused && cached.refreshAt > Date.now()) return cached.token;
    return this.fetch(app, mark, refused);
  }

  private async fetch(app: WeChatApp, mark: number, refused?: string): Promise<string> {
    // A fetch takes at most two attempts under the timeout, the pause between them, and the store.
    const longest = 2 * this.http.timeoutMs + this.http.retryDelayMs + STORE_SLACK_MS;
    for (;;) {
      const newer = latest.get(app.appid);
      if (newer && newer.generation > mark && newer.token !== refused && newer.refreshAt > Date.now()) return newer.token;
      const failed = failures.get(app.appid);
      if (failed && failed.generation > mark) throw failed.error;
      const fetching = refreshing.get(app.appid);
      if (!fetching || Date.now() - fetching.since > longest) break;
      await sleep(POLL_MS);
    }
    // Checked and claimed with no await in between: one caller of this isolate fetches.
    const mine = { since: Date.now() };
    refreshing.set(app.appid, mine);
    try {
      return await this.fetchAndStore(app);
    } catch (error) {
      failures.set(app.appid, { error, generation: ++generations });
      throw error;
    } finally {
      // Unless a waiter took over from this fetch meanwhile: then the note is that waiter's.
      if (refreshing.get(app.appid) === mine) refreshing.delete(app.appid);
    }
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
    latest.set(app.appid, { ...cached, generation: ++generations });
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
  const mark = tokens.mark(app);
  const token = await tokens.get(app, mark);
  try {
    return await call(token);
  } catch (error) {
    if (!isAccessTokenRefused(error)) throw error;
    return call(await tokens.replace(app, token, mark));
  }
}
