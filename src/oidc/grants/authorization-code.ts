/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6). A code is redeemed once, in one
 * D1 batch (src/store/authorization-codes.ts): its checks are the conditions
 * of the single-use claim, the grant and the refresh token follow from the
 * claim, and the code is read back to say why, when nothing was issued. Of
 * two concurrent redemptions exactly one commits; any later one revokes
 * what the first was issued (§4.1.2).
 */
import type { Bridge } from '../../context';
import { randomId, sha256 } from '../../crypto';
import { invalidGrant, invalidRequest, type OAuthError } from '../../errors';
import { codeUseKey, redeemedCode, redemptionBatch, type RedeemedCode } from '../../store/authorization-codes';
import { refreshTokenValue, signTokens } from '../../tokens/issue';
import { refuseFailedClaim } from '../../tokens/issue-once';
import type { Client } from '../../types';

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

export async function authorizationCodeGrant(bridge: Bridge, client: Client, params: Map<string, string>) {
  const presented = params.get('code');
  const redirectUri = params.get('redirect_uri');
  const verifier = params.get('code_verifier');
  if (!presented) throw invalidRequest('code is required');
  if (!redirectUri) throw invalidRequest('redirect_uri is required');
  if (verifier !== undefined && !VERIFIER.test(verifier)) throw invalidRequest('code_verifier is malformed');

  const { config, db, now } = bridge;
  const [codeHash, challenge, refresh] = await Promise.all([sha256(presented), verifier === undefined ? null : s256(verifier), refreshTokenValue()]);
  const grantId = randomId(16);
  const batch = redemptionBatch(db, {
    codeHash,
    clientId: client.clientId,
    redirectUri,
    challenge,
    grantId,
    grantExpiresAt: now + config.ttl.grant,
    refresh: { tokenHash: refresh.hash, expiresAt: now + config.ttl.refreshToken },
    now,
  });
  let code: RedeemedCode | undefined;
  try {
    code = redeemedCode(await db.batch(batch));
  } catch (error) {
    return refuseFailedClaim(bridge, error, codeUseKey(codeHash), 'authorization code');
  }
  if (!code?.issued || !code.subject) throw refusal(code, client, redirectUri, now, verifier !== undefined);

  const { subject, scopes, authTime, amr } = code;
  const auth = { subject, scopes, authTime, amr, nonce: code.nonce ?? undefined, sid: code.sid ?? undefined };
  const tokens = await signTokens(bridge, client, grantId, auth);
  return { ...tokens, ...(scopes.includes('offline_access') && { refresh_token: refresh.token }) };
}

/** Why a code that exists or not made no grant: the first of §4.1.3's checks it fails. */
function refusal(code: RedeemedCode | undefined, client: Client, redirectUri: string, now: number, withVerifier: boolean): OAuthError {
  if (!code || code.clientId !== client.clientId || code.expiresAt <= now || !code.subject) {
    return invalidGrant('the authorization code is invalid or expired');
  }
  if (code.redirectUri !== redirectUri) return invalidGrant('redirect_uri does not match the authorization request');
  if (code.codeChallenge === null) {
    // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
    return invalidGrant('this code was issued without a code_challenge');
  }
  return invalidGrant(withVerifier ? 'code_verifier does not match' : 'code_verifier is required');
}

/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
const s256 = sha256;
