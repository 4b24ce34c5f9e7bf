/** Resolving a bearer access token (RFC 6750) to its live grant and user. */
import type { Bridge } from '../context';
import { findAccessTokenGrant, type GrantWithSubject } from '../store/grants';
import { verifyAccessToken, type AccessTokenClaims } from '../tokens/jwt';

export interface ActiveAccessToken extends GrantWithSubject {
  claims: AccessTokenClaims;
}

/** The token's claims and grant when it is valid, unexpired and not revoked; otherwise undefined. */
export async function activeAccessToken(bridge: Bridge, token: string): Promise<ActiveAccessToken | undefined> {
  const claims = await verifyAccessToken(await bridge.keys(), bridge.config.issuer, token);
  if (!claims) return undefined;
  const found = await findAccessTokenGrant(bridge.db, claims.gid, claims.jti);
  if (!found || found.tokenRevoked || found.grant.revokedAt !== null) return undefined;
  return { ...found, claims };
}
