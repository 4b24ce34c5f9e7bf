/**
 * What lives in KV (SPEC: one-time codes and pending logins), each value
 * JSON with its own expiry. KV is eventually consistent, so nothing here is
 * trusted to be used only once: that guard is D1's (src/store/single-use.ts).
 */
import type { Scope } from '../oidc/scopes';
import type { Subject } from '../tokens/claims';

/** KV's shortest expirationTtl. */
const KV_MIN_TTL = 60;

async function put(kv: KVNamespace, key: string, value: { expiresAt: number }, now: number): Promise<void> {
  await kv.put(key, JSON.stringify(value), { expirationTtl: Math.max(KV_MIN_TTL, value.expiresAt - now) });
}

async function get<T extends { expiresAt: number }>(kv: KVNamespace, key: string, now: number): Promise<T | undefined> {
  const value = await kv.get<T>(key, 'json');
  return value && value.expiresAt > now ? value : undefined;
}

/** A login waiting for the mini program (SPEC.md §5): from a browser, or from a device (RFC 8628). */
export interface PendingLogin {
  id: string;
  clientId: string;
  scopes: Scope[];
  expiresAt: number;
  /** Browser logins: the authorization request to answer, and the browser it belongs to. */
  authorization?: {
    redirectUri: string;
    state?: string;
    nonce?: string;
    codeChallenge?: string;
    /** SHA-256 of the cookie that binds the login to the browser that started it. */
    browserHash: string;
    uiLocales?: string;
  };
}

export const putPendingLogin = (kv: KVNamespace, login: PendingLogin, now: number) => put(kv, `login:${login.id}`, login, now);
export const getPendingLogin = (kv: KVNamespace, id: string, now: number) => get<PendingLogin>(kv, `login:${id}`, now);

/** An authorization code (RFC 6749 §4.1.2), by SHA-256 of the code. */
export interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  nonce?: string;
  scopes: Scope[];
  /** The user as of the login, so that redeeming the code reads nothing else. */
  subject: Subject;
  authTime: number;
  amr: string[];
  expiresAt: number;
}

export const putAuthorizationCode = (kv: KVNamespace, hash: string, code: AuthorizationCode, now: number) =>
  put(kv, `code:${hash}`, code, now);
export const getAuthorizationCode = (kv: KVNamespace, hash: string, now: number) => get<AuthorizationCode>(kv, `code:${hash}`, now);
