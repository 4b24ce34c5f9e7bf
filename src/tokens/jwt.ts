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

/**
 * Access tokens this isolate has verified, by key set, until they expire: a
 * client calls userinfo (or its API introspects) with the same token many
 * times, and the signature, the header and the claims are the same each time.
 * Bounded; the oldest entry leaves first. Revocation is never cached.
 */
const verified = new WeakMap<KeySet, Map<string, AccessTokenClaims>>();
const VERIFIED_MAX = 1000;

/** The claims of a valid, unexpired access token of this issuer, or null. Revocation is the caller's check. */
export async function verifyAccessToken(keys: KeySet, issuer: string, token: string): Promise<AccessTokenClaims | null> {
  let known = verified.get(keys);
  if (!known) verified.set(keys, (known = new Map()));
  const cached = known.get(token);
  // As jose decides it: expired once `exp` is now or past (RFC 7519 §4.1.4).
  if (cached && cached.iss === issuer && cached.exp > Math.floor(Date.now() / 1000)) return cached;
  if (cached) known.delete(token);
  try {
    const { payload } = await jwtVerify(token, keys.verificationKey, {
      issuer,
      audience: issuer,
      typ: 'at+jwt',
      requiredClaims: ['sub', 'client_id', 'jti', 'gid', 'exp', 'iat'],
    });
    if (!hasClaimTypes(payload)) return null;
    if (known.size >= VERIFIED_MAX) known.delete(known.keys().next().value!);
    known.set(token, Object.freeze(payload));
    return payload;
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
