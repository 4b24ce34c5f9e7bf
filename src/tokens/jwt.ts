/**
 * JWTs the provider signs: ID tokens (OpenID Connect Core §2), logout tokens
 * (Back-Channel Logout 1.0 §2.4, `typ: logout+jwt`) and access
 * tokens (RFC 9068, `typ: at+jwt`), and the verification of its own tokens,
 * each by its `kid` and in that key's algorithm (src/tokens/keys.ts).
 * Revocation is checked in D1 by the caller (src/store/grants.ts).
 */
import type { JWTPayload } from 'jose';
import { JWTExpired } from 'jose/errors';
import { SignJWT } from 'jose/jwt/sign';
import { jwtVerify } from 'jose/jwt/verify';
import type { KeySet, SigningKey } from './keys';

/** Signs with `key`, naming it: a KeySet's `idTokens` for ID and logout tokens, its `accessTokens` for access tokens. */
export async function signJwt(key: SigningKey, payload: JWTPayload, typ: 'JWT' | 'at+jwt' | 'logout+jwt'): Promise<string> {
  const { kid, alg, privateKey } = key;
  return new SignJWT(payload).setProtectedHeader({ alg, kid, typ }).sign(privateKey);
}

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  client_id: string;
  scope: string;
  jti: string;
  iat: number;
  exp: number;
  auth_time: number;
  /** The grant the token was issued from: revoking the grant revokes the token. */
  gid: string;
}

/** The claims of a valid, unexpired access token of this issuer, or null. Revocation is the caller's check. */
export async function verifyAccessToken(keys: KeySet, issuer: string, token: string): Promise<AccessTokenClaims | null> {
  try {
    const { payload } = await jwtVerify(token, keys.verificationKey, {
      issuer,
      audience: issuer,
      typ: 'at+jwt',
      requiredClaims: ['sub', 'client_id', 'jti', 'gid', 'exp', 'iat'],
    });
    return hasClaimTypes(payload) ? payload : null;
  } catch {
    return null;
  }
}

/**
 * The claims of an ID token this issuer signed, expired or not (OpenID
 * Connect RP-Initiated Logout §2: an id_token_hint may have expired), or null.
 * An access token (`typ: at+jwt`) is not an ID token, whoever signed it.
 */
export async function verifyIdTokenHint(keys: KeySet, issuer: string, token: string): Promise<JWTPayload | null> {
  try {
    return (await jwtVerify(token, keys.verificationKey, { issuer, typ: 'JWT' })).payload;
  } catch (error) {
    // jose checks the signature and the issuer before the expiry, so an expired token's claims are vouched for.
    return error instanceof JWTExpired ? error.payload : null;
  }
}

const STRING_CLAIMS = ['iss', 'sub', 'aud', 'client_id', 'scope', 'jti', 'gid'] as const;
const NUMBER_CLAIMS = ['iat', 'exp', 'auth_time'] as const;

/** A signature says who made a token, not that its claims have the types the lookups expect. */
function hasClaimTypes(payload: JWTPayload): payload is JWTPayload & AccessTokenClaims {
  return STRING_CLAIMS.every((name) => typeof payload[name] === 'string') && NUMBER_CLAIMS.every((name) => typeof payload[name] === 'number');
}
