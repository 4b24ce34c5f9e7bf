/** Authorization codes (RFC 6749 §4.1.2) in KV under `code:<SHA-256 of the code>`; D1 guards their single use. */
import type { Scope, Subject } from '../types';
import { getUnexpired, putExpiring } from './kv';

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
  /** The browser session the code was issued in (Back-Channel Logout 1.0 §2.1), for the grant and its ID tokens. */
  sid?: string;
  expiresAt: number;
}

export const putAuthorizationCode = (kv: KVNamespace, hash: string, code: AuthorizationCode, now: number) =>
  putExpiring(kv, `code:${hash}`, code, now);
export const getAuthorizationCode = (kv: KVNamespace, hash: string, now: number) => getUnexpired<AuthorizationCode>(kv, `code:${hash}`, now);
