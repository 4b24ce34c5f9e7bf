/**
 * JWTs the provider signs: ID tokens (OpenID Connect Core §2) and access
 * tokens (RFC 9068, `typ: at+jwt`), and the verification of its own access
 * tokens. Revocation is checked in D1 by the caller (src/store/grants.ts).
 */
import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { KeySet } from './keys';

export async function signJwt(keys: KeySet, payload: JWTPayload, typ: 'JWT' | 'at+jwt'): Promise<string> {
  const { kid, alg, privateKey } = keys.signing;
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
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return null;
  }
  const key = keys.all.find((candidate) => candidate.kid === kid);
  if (!key) return null;
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      issuer,
      audience: issuer,
      algorithms: [key.alg],
      typ: 'at+jwt',
      requiredClaims: ['sub', 'client_id', 'jti', 'gid', 'exp', 'iat'],
    });
    return hasClaimTypes(payload) ? payload : null;
  } catch {
    return null;
  }
}

const STRING_CLAIMS = ['iss', 'sub', 'aud', 'client_id', 'scope', 'jti', 'gid'] as const;
const NUMBER_CLAIMS = ['iat', 'exp', 'auth_time'] as const;

/** A signature says who made a token, not that its claims have the types the lookups expect. */
function hasClaimTypes(payload: JWTPayload): payload is JWTPayload & AccessTokenClaims {
  return STRING_CLAIMS.every((name) => typeof payload[name] === 'string') && NUMBER_CLAIMS.every((name) => typeof payload[name] === 'number');
}
