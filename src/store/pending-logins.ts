/** Logins waiting for the mini program (docs/protocol.md §5), in KV under `login:<id>`. */
import type { AcrRequest, ResponseMode, Scope } from '../types';
import { getUnexpired, putExpiring } from './kv';

/** From a browser (the authorization endpoint), or from a device (RFC 8628). */
export interface PendingLogin {
  id: string;
  clientId: string;
  scopes: Scope[];
  expiresAt: number;
  /** What is known of the browser or device that started the login, shown to the person who approves it. */
  device?: { browser?: string; os?: string; region?: string };
  /** Browser logins: the authorization request to answer, and the browser it belongs to. */
  authorization?: {
    redirectUri: string;
    state?: string;
    nonce?: string;
    codeChallenge?: string;
    /** SHA-256 of the cookie that binds the login to the browser that started it. */
    browserHash: string;
    uiLocales?: string;
    /** Absent: the query (the default). */
    responseMode?: ResponseMode;
    acr?: AcrRequest;
  };
}

export const putPendingLogin = (kv: KVNamespace, login: PendingLogin, now: number) => putExpiring(kv, `login:${login.id}`, login, now);
export const getPendingLogin = (kv: KVNamespace, id: string, now: number) => getUnexpired<PendingLogin>(kv, `login:${id}`, now);
