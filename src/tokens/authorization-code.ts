/**
 * Authorization codes (RFC 6749 §4.1.2): random, kept in D1 by their SHA-256
 * with everything the grant they become needs, so redeeming one reads
 * nothing else (src/store/authorization-codes.ts). The caller writes the
 * code's statement: alone, or in the batch of the login it ends.
 */
import type { Config } from '../config';
import { randomId, sha256 } from '../crypto';
import { insertCodeStatement, type NewAuthorizationCode } from '../store/authorization-codes';
import type { Db } from '../store/db';

/** Who logged in, and in which browser session, as an authorization code carries it. */
export type Authenticated = Pick<NewAuthorizationCode, 'subject' | 'authTime' | 'amr' | 'sid'>;

/** What the authorization request fixed for the code. */
export type CodeRequest = Pick<NewAuthorizationCode, 'clientId' | 'redirectUri' | 'codeChallenge' | 'nonce' | 'scopes'>;

/** A new code, and the statement that stores it. */
export async function newAuthorizationCode(context: { config: Config; db: Db; now: number }, request: CodeRequest, who: Authenticated) {
  const { config, db, now } = context;
  const code = randomId(32);
  const { clientId, redirectUri, codeChallenge, nonce, scopes } = request;
  const statement = insertCodeStatement(db, {
    codeHash: await sha256(code),
    clientId,
    redirectUri,
    codeChallenge,
    nonce,
    scopes,
    ...who,
    expiresAt: now + config.ttl.authorizationCode,
  });
  return { code, statement };
}
