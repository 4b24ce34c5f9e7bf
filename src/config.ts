/**
 * Reads the environment once per isolate into a typed, validated config.
 * A bad configuration fails loudly at the first request, never half-works.
 */

export interface Env {
  DB: D1Database;
  KV: KVNamespace;
  /** The issuer: the public https origin (http only on loopback, for local development). */
  ISSUER: string;
  /** Private JWKS, newest key first. */
  SIGNING_KEYS: string;
  /** Initial access token for dynamic client registration (RFC 7591 §3). */
  REGISTRATION_TOKEN: string;
  /** JSON array of {appid, secret, kind}. */
  WECHAT_APPS: string;
  /**
   * The key of pairwise subject identifiers (src/identity/pairwise.ts), at
   * least 32 characters. Changing it changes every pairwise `sub`: never rotate it.
   */
  PAIRWISE_SECRET: string;
  /** Webhook subscriptions, JSON [{url, secret, events}] (src/notify/); unset: none. */
  WEBHOOKS?: string;
  /** Back-channel logouts and webhooks on their way (src/notify/): the producer of the deliveries queue. */
  DELIVERIES: Queue<unknown>;
  /** Bearer token of the admin API (docs/protocol.md "Operating"); unset, the admin API refuses everyone. */
  ADMIN_TOKEN?: string;
  /** Days the audit log keeps an entry (src/store/purge.ts), 1 to 3650; 180 when unset. */
  AUDIT_RETENTION_DAYS?: string;
  /** Milliseconds one WeChat request may take, 1 to 60000; 5000 when unset. */
  WECHAT_TIMEOUT_MS?: string;
  /** Milliseconds before the one retry of an idempotent WeChat call, 0 to 10000; 300 when unset. */
  WECHAT_RETRY_DELAY_MS?: string;
  /**
   * The token of the Official Account's domain verification file: WeChat asks
   * for `MP_verify_<token>.txt` at the domain's root, containing the token.
   */
  WECHAT_MP_VERIFY?: string;
  /**
   * Rate limits (wrangler.toml `[[ratelimits]]`, src/web/rate-limit.ts):
   * per address on every endpoint anyone may call, per client and address
   * and per client on logins started, per address on user codes, WeChat
   * code exchanges and registration attempts.
   */
  LIMIT_ADDRESS: RateLimit;
  LIMIT_STARTS: RateLimit;
  LIMIT_CLIENT: RateLimit;
  LIMIT_USER_CODES: RateLimit;
  LIMIT_WECHAT: RateLimit;
  LIMIT_REGISTRATION: RateLimit;
}

/**
 * The kinds of WeChat app (docs/wechat.md): a mobile app (OpenSDK SendAuth),
 * a mini program (wx.login), an Official Account's web authorization (inside
 * WeChat's browser) and an Open Platform Website App (QR login on a desktop).
 */
export const WECHAT_KINDS = ['app', 'miniprogram', 'officialaccount', 'website'] as const;

export type WeChatKind = (typeof WECHAT_KINDS)[number];

export interface WeChatApp {
  appid: string;
  secret: string;
  kind: WeChatKind;
}

/** How the WeChat client behaves (src/wechat/http.ts). */
export interface WeChatSettings {
  /** Per attempt, covering the response body too. */
  timeoutMs: number;
  /** Pause before the one retry of an idempotent read. */
  retryDelayMs: number;
}

/** The life-cycle events a webhook may subscribe to (docs/protocol.md §10). */
export const LIFE_EVENTS = ['user.created', 'user.linked', 'user.deleted', 'login.succeeded'] as const;

export type LifeEventType = (typeof LIFE_EVENTS)[number];

/** One webhook receiver (WEBHOOKS): where, with which key, and what it hears of. */
export interface WebhookSubscription {
  /** https, or http on loopback (local development). */
  url: string;
  /** Standard Webhooks form, `whsec_<base64 of the key>`. */
  secret: string;
  events: readonly LifeEventType[];
}

export interface Config {
  issuer: string;
  registrationToken: string;
  /** The admin API's bearer token; undefined when unset, and then nobody is an admin. */
  adminToken?: string;
  wechatApps: readonly WeChatApp[];
  wechat: WeChatSettings;
  pairwiseSecret: string;
  /** Webhook receivers; none when WEBHOOKS is unset. */
  webhooks: readonly WebhookSubscription[];
  /** The Official Account's domain verification token, when one is set. */
  mpVerify?: string;
  /** Lifetimes in seconds. */
  ttl: {
    accessToken: number;
    idToken: number;
    refreshToken: number;
    /** The longest a grant lives, however often its refresh token rotates. */
    grant: number;
    /** RFC 6749 §4.1.2: short-lived; KV's shortest expiry is 60 s. */
    authorizationCode: number;
    /** How long a pending login waits for the mini program. */
    pendingLogin: number;
    /** RFC 8628 §3.2 expires_in. */
    deviceCode: number;
    /** A browser's login session. */
    session: number;
    /** An audit log entry, from when it was written to its purge (AUDIT_RETENTION_DAYS). */
    audit: number;
  };
  /** RFC 8628 §3.2: the device's polling interval in seconds. */
  devicePollInterval: number;
}

/** The registration token `npm start` writes for local development: never good enough for a public issuer. */
export const DEV_REGISTRATION_TOKEN = 'dev-registration-token';

/** The admin token `npm start` writes for local development: likewise refused with a public issuer. */
export const DEV_ADMIN_TOKEN = 'dev-admin-token';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export const isLoopbackHost = (hostname: string) => LOOPBACK_HOSTS.has(hostname);

export function isLoopbackIssuer(issuer: string | undefined): boolean {
  try {
    return isLoopbackHost(new URL(issuer ?? '').hostname);
  } catch {
    return false;
  }
}

export function parseConfig(env: Env): Config {
  const issuer = parseIssuer(env.ISSUER);
  if (!env.REGISTRATION_TOKEN) throw new Error('REGISTRATION_TOKEN is not set');
  // The development token is public knowledge: anyone could register clients with it.
  if (env.REGISTRATION_TOKEN === DEV_REGISTRATION_TOKEN && !isLoopbackIssuer(issuer)) {
    throw new Error(`REGISTRATION_TOKEN "${DEV_REGISTRATION_TOKEN}" is for local development only: set a secret one`);
  }
  const adminToken = env.ADMIN_TOKEN || undefined;
  // Anyone could import users, or (later) read and delete them, with the public development token.
  if (adminToken === DEV_ADMIN_TOKEN && !isLoopbackIssuer(issuer)) {
    throw new Error(`ADMIN_TOKEN "${DEV_ADMIN_TOKEN}" is for local development only: set a secret one, or none`);
  }
  // Short or absent, pairwise subjects could be computed by anyone who can guess it.
  if (!env.PAIRWISE_SECRET || env.PAIRWISE_SECRET.length < 32) throw new Error('PAIRWISE_SECRET must be set, at least 32 characters');
  return {
    issuer,
    registrationToken: env.REGISTRATION_TOKEN,
    adminToken,
    pairwiseSecret: env.PAIRWISE_SECRET,
    wechatApps: parseWeChatApps(env.WECHAT_APPS),
    webhooks: parseWebhooks(env.WEBHOOKS),
    wechat: {
      timeoutMs: milliseconds(env.WECHAT_TIMEOUT_MS, 'WECHAT_TIMEOUT_MS', 5000, 1, 60_000),
      retryDelayMs: milliseconds(env.WECHAT_RETRY_DELAY_MS, 'WECHAT_RETRY_DELAY_MS', 300, 0, 10_000),
    },
    mpVerify: parseMpVerify(env.WECHAT_MP_VERIFY),
    ttl: {
      accessToken: 3600,
      idToken: 3600,
      refreshToken: 30 * 24 * 3600,
      grant: 180 * 24 * 3600,
      authorizationCode: 60,
      pendingLogin: 600,
      deviceCode: 600,
      // One working day from the approval, never extended by use (docs/security.md, "Sessions").
      session: 24 * 3600,
      audit: days(env.AUDIT_RETENTION_DAYS, 'AUDIT_RETENTION_DAYS', 180, 1, 3650) * 24 * 3600,
    },
    devicePollInterval: 5,
  };
}

function parseIssuer(value: string | undefined): string {
  if (!value) throw new Error('ISSUER is not set');
  const url = new URL(value);
  // OpenID Connect Discovery §3: https, no query or fragment; http only on loopback.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new Error('ISSUER must be an https URL (http only for loopback)');
  }
  if (url.search || url.hash) throw new Error('ISSUER must not have a query or fragment');
  return value.replace(/\/$/, '');
}

function parseWeChatApps(value: string | undefined): WeChatApp[] {
  const parsed: unknown = JSON.parse(value || '[]');
  if (!Array.isArray(parsed)) throw new Error('WECHAT_APPS must be a JSON array');
  const apps = parsed.map((entry: Partial<WeChatApp>, index) => {
    if (typeof entry?.appid !== 'string' || typeof entry.secret !== 'string') {
      throw new Error(`WECHAT_APPS[${index}] needs appid and secret`);
    }
    if (!WECHAT_KINDS.includes(entry.kind as WeChatKind)) {
      throw new Error(`WECHAT_APPS[${index}].kind must be one of ${WECHAT_KINDS.join(', ')}`);
    }
    return { appid: entry.appid, secret: entry.secret, kind: entry.kind as WeChatKind };
  });
  if (new Set(apps.map((app) => app.appid)).size !== apps.length) throw new Error('WECHAT_APPS has a duplicate appid');
  return apps;
}

/**
 * WEBHOOKS: JSON [{url, secret, events}]. The secret is a Standard Webhooks
 * key, `whsec_` and the base64 of at least 24 random bytes; a receiver's URL
 * appears once, so a queued delivery names its receiver by URL, never by secret.
 */
function parseWebhooks(value: string | undefined): WebhookSubscription[] {
  const parsed: unknown = JSON.parse(value || '[]');
  if (!Array.isArray(parsed)) throw new Error('WEBHOOKS must be a JSON array');
  const subscriptions = parsed.map((entry: Partial<Record<keyof WebhookSubscription, unknown>>, index) => {
    const name = `WEBHOOKS[${index}]`;
    if (typeof entry?.url !== 'string' || !isWebhookUrl(entry.url)) throw new Error(`${name}.url must be an https URL (http only for loopback)`);
    if (typeof entry.secret !== 'string' || !isWebhookSecret(entry.secret)) {
      throw new Error(`${name}.secret must be whsec_ followed by the base64 of at least 24 random bytes`);
    }
    const events = entry.events;
    if (!Array.isArray(events) || events.length === 0 || !events.every((event) => LIFE_EVENTS.includes(event as LifeEventType))) {
      throw new Error(`${name}.events must name some of ${LIFE_EVENTS.join(', ')}`);
    }
    return { url: entry.url, secret: entry.secret, events: [...new Set(events as LifeEventType[])] };
  });
  if (new Set(subscriptions.map((subscription) => subscription.url)).size !== subscriptions.length) throw new Error('WEBHOOKS has a duplicate url');
  return subscriptions;
}

function isWebhookUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return !url.username && !url.password && (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)));
  } catch {
    return false;
  }
}

function isWebhookSecret(value: string): boolean {
  const encoded = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value)?.[1];
  if (!encoded || encoded.length % 4 !== 0) return false;
  try {
    return atob(encoded).length >= 24;
  } catch {
    return false;
  }
}

function parseMpVerify(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[A-Za-z0-9]{1,64}$/.test(value)) throw new Error('WECHAT_MP_VERIFY must be the token of MP_verify_<token>.txt: 1 to 64 letters and digits');
  return value;
}

function milliseconds(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < min || ms > max) throw new Error(`${name} must be a whole number of milliseconds, ${min} to ${max}`);
  return ms;
}

function days(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const count = Number(value);
  if (!Number.isInteger(count) || count < min || count > max) throw new Error(`${name} must be a whole number of days, ${min} to ${max}`);
  return count;
}

let cached: { source: readonly (string | undefined)[]; config: Config } | undefined;

/**
 * The config of this isolate's environment, parsed on first use. Keyed on
 * the values read, not on the env object, which the runtime need not reuse.
 */
export function getConfig(env: Env): Config {
  const source = [
    env.ISSUER,
    env.REGISTRATION_TOKEN,
    env.ADMIN_TOKEN,
    env.PAIRWISE_SECRET,
    env.WECHAT_APPS,
    env.WEBHOOKS,
    env.WECHAT_TIMEOUT_MS,
    env.WECHAT_RETRY_DELAY_MS,
    env.WECHAT_MP_VERIFY,
    env.AUDIT_RETENTION_DAYS,
  ];
  if (!cached || source.some((value, i) => value !== cached!.source[i])) cached = { source, config: parseConfig(env) };
  return cached.config;
}
