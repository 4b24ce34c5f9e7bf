/**
 * Authorization codes (RFC 6749 §4.1.2): random, kept in KV by their
 * SHA-256 with everything the token endpoint needs, so redeeming one reads
 * nothing else. Single use is D1's guard, at redemption (tokens/issue-once.ts).
 */
import type { Config } from '../config';
import { randomId, sha256 } from '../crypto';
import { putAuthorizationCode, type AuthorizationCode } from '../store/authorization-codes';

/** Who logged in, and in which browser session, as an authorization code carries it. */
export type Authenticated = Pick<AuthorizationCode, 'subject' | 'authTime' | 'amr' | 'sid'>;

/** What the authorization request fixed for the code. */
export type CodeRequest = Pick<AuthorizationCode, 'clientId' | 'redirectUri' | 'codeChallenge' | 'nonce' | 'scopes'>;

export async function issueAuthorizationCode(
  context: { config: Config; env: { KV: KVNamespace }; now: number },
  request: CodeRequest,
  who: Authenticated,
): Promise<string> {
  const { config, env, now } = context;
  const code = randomId(32);
  const { clientId, redirectUri, codeChallenge, nonce, scopes } = request;
  await putAuthorizationCode(
    env.KV,
    await sha256(code),
    { clientId, redirectUri, codeChallenge, nonce, scopes, ...who, expiresAt: now + config.ttl.authorizationCode },
    now,
  );
  return code;
}
