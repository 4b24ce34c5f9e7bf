/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6). A code is redeemed once: the
 * redemption and the grant are one D1 transaction guarded by the code's
 * single-use row, so of two concurrent redemptions exactly one commits; any
 * later one revokes what the first was issued (§4.1.2).
 */
import type { Bridge } from '../../context';
import { sha256, timingSafeEqualStrings } from '../../crypto';
import { invalidGrant, invalidRequest } from '../../errors';
import { getAuthorizationCode } from '../../store/authorization-codes';
import { issueOnce } from '../../tokens/issue-once';
import type { Client } from '../../types';

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

export async function authorizationCodeGrant(bridge: Bridge, client: Client, params: Map<string, string>) {
  const presented = params.get('code');
  const redirectUri = params.get('redirect_uri');
  const verifier = params.get('code_verifier');
  if (!presented) throw invalidRequest('code is required');
  if (!redirectUri) throw invalidRequest('redirect_uri is required');
  if (verifier !== undefined && !VERIFIER.test(verifier)) throw invalidRequest('code_verifier is malformed');

  const hash = await sha256(presented);
  const code = await getAuthorizationCode(bridge.env.KV, hash, bridge.now);
  if (!code || code.clientId !== client.clientId) throw invalidGrant('the authorization code is invalid or expired');
  if (code.redirectUri !== redirectUri) throw invalidGrant('redirect_uri does not match the authorization request');
  if (code.codeChallenge !== undefined) {
    if (verifier === undefined) throw invalidGrant('code_verifier is required');
    if (!(await timingSafeEqualStrings(await s256(verifier), code.codeChallenge))) throw invalidGrant('code_verifier does not match');
  } else if (verifier !== undefined) {
    // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
    throw invalidGrant('this code was issued without a code_challenge');
  }

  const { subject, scopes, authTime, amr, nonce, sid } = code;
  return issueOnce(bridge, client, { subject, scopes, authTime, amr, nonce, sid }, `code:${hash}`, 'authorization code');
}

/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
const s256 = sha256;
