/** Resolving a bearer access token (RFC 6750) to its live grant's subject. */
import type { Bridge } from '../context';
import { findAccessTokenGrant } from '../store/grants';
import { verifyAccessToken, type AccessTokenClaims } from '../tokens/jwt';
import type { Subject } from '../types';

export interface ActiveAccessToken {
  claims: AccessTokenClaims;
  subject: Subject;
}

/** The token's claims and subject when it is valid, unexpired and not revoked; otherwise undefined. */
export async function activeAccessToken(bridge: Bridge, token: string): Promise<ActiveAccessToken | undefined> {
  const claims = await verifyAccessToken(await bridge.keys(), bridge.config.issuer, token);
  if (!claims) return undefined;
  const found = await findAccessTokenGrant(bridge.db, claims.gid, claims.jti);
  if (!found || found.revoked) return undefined;
  return { claims, subject: found.subject };
}
