/**
 * Reads the environment once per isolate into a typed, validated config.
 * A bad configuration fails loudly at the first request, never half-works.
 */

export interface Env {
  DB: D1Database;
  KV: KVNamespace;
  ISSUER: string;
  /** "on" enables the WeChat sandbox (SPEC.md §6), honoured only for a loopback issuer. */
  WECHAT_SANDBOX?: string;
  /** Private JWKS, newest key first. */
  SIGNING_KEYS: string;
  /** Initial access token for dynamic client registration (RFC 7591 §3). */
  REGISTRATION_TOKEN: string;
  /** JSON array of {appid, secret, kind}. */
  WECHAT_APPS: string;
  /**
   * Milliseconds one WeChat request may take, 1 to 60000; 5000 when unset.
   * Read per request by src/wechat/http.ts (the sandbox's "timeout" and "slow" faults follow it).
   */
  WECHAT_TIMEOUT_MS?: string;
  /** Milliseconds before the one retry of an idempotent WeChat call, 0 to 10000; 300 when unset. */
  WECHAT_RETRY_DELAY_MS?: string;
}

export type WeChatKind = 'app' | 'miniprogram';

export interface WeChatApp {
  appid: string;
  secret: string;
  kind: WeChatKind;
}

export interface Config {
  issuer: string;
  sandbox: boolean;
  registrationToken: string;
  wechatApps: readonly WeChatApp[];
  /** Lifetimes in seconds. */
  ttl: {
    accessToken: number;
    idToken: number;
    refreshToken: number;
    /** The longest a grant lives, however often its refresh token rotates. */
    grant: number;
  };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackIssuer(issuer: string): boolean {
  return LOOPBACK_HOSTS.has(new URL(issuer).hostname);
}

export function parseConfig(env: Env): Config {
  const issuer = parseIssuer(env.ISSUER);
  if (!env.REGISTRATION_TOKEN) throw new Error('REGISTRATION_TOKEN is not set');
  return {
    issuer,
    // The sandbox mints identities at will: it must never serve a public issuer.
    sandbox: env.WECHAT_SANDBOX === 'on' && isLoopbackIssuer(issuer),
    registrationToken: env.REGISTRATION_TOKEN,
    wechatApps: parseWeChatApps(env.WECHAT_APPS),
    ttl: { accessToken: 3600, idToken: 3600, refreshToken: 30 * 24 * 3600, grant: 180 * 24 * 3600 },
  };
}

function parseIssuer(value: string | undefined): string {
  if (!value) throw new Error('ISSUER is not set');
  const url = new URL(value);
  // OpenID Connect Discovery §3: https, no query or fragment; http only on loopback.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
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
    if (entry.kind !== 'app' && entry.kind !== 'miniprogram') {
      throw new Error(`WECHAT_APPS[${index}].kind must be "app" or "miniprogram"`);
    }
    return { appid: entry.appid, secret: entry.secret, kind: entry.kind };
  });
  if (new Set(apps.map((app) => app.appid)).size !== apps.length) throw new Error('WECHAT_APPS has a duplicate appid');
  return apps;
}

let cached: { source: readonly (string | undefined)[]; config: Config } | undefined;

/**
 * The config of this isolate's environment, parsed on first use. Keyed on
 * the values read, not on the env object, which the runtime need not reuse.
 */
export function getConfig(env: Env): Config {
  const source = [env.ISSUER, env.WECHAT_SANDBOX, env.REGISTRATION_TOKEN, env.WECHAT_APPS];
  if (!cached || source.some((value, i) => value !== cached!.source[i])) cached = { source, config: parseConfig(env) };
  return cached.config;
}
