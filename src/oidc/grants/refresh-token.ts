/**
 * RFC 6749 §6 refresh, with rotation and reuse detection (RFC 9700
 * §4.14.2): a refresh token works once; presenting a spent one revokes
 * its whole grant, access tokens included. Reading and rotating are one
 * D1 round trip (src/store/grants.ts rotateRefreshToken).
 */
import type { Bridge } from '../../context';
import type { Client } from '../../store/clients';
import { revokeGrant, rotateRefreshToken } from '../../store/grants';
import { sha256 } from '../../tokens/crypto';
import { refreshTokenValue, signTokens } from '../../tokens/issue';
import { GRANT_TYPES } from '../client-metadata';
import { invalidGrant, invalidRequest, OAuthError, unauthorizedClient } from '../errors';
import { isValidScopeString, type Scope } from '../scopes';

export async function refreshTokenGrant(bridge: Bridge, client: Client, params: Map<string, string>) {
  if (!client.metadata.grant_types.includes(GRANT_TYPES.refreshToken)) {
    throw unauthorizedClient('this client is not registered for the refresh_token grant');
  }
  const presented = params.get('refresh_token');
  if (!presented) throw invalidRequest('refresh_token is required');
  const requested = params.get('scope');
  if (requested !== undefined && !isValidScopeString(requested)) throw new OAuthError('invalid_scope', 'malformed scope');
  const asked = requested === undefined ? undefined : [...new Set(requested.split(' '))];

  const [hash, next] = await Promise.all([sha256(presented), refreshTokenValue()]);
  const { before, rotated } = await rotateRefreshToken(bridge.db, {
    oldHash: hash,
    newHash: next.hash,
    clientId: client.clientId,
    scopes: asked,
    now: bridge.now,
    ttl: bridge.config.ttl.refreshToken,
  });
  // A token of another client is not this client's to spend, nor to revoke.
  if (!before || before.grant.clientId !== client.clientId) throw invalidGrant('the refresh token is invalid');
  const { grant, token } = before;
  if (grant.revokedAt !== null) throw invalidGrant('the refresh token was revoked');
  if (token.usedAt !== null) return reused(bridge, grant.id);
  if (token.expiresAt <= bridge.now) throw invalidGrant('the refresh token has expired');
  // RFC 6749 §6: the scope may narrow, never widen.
  const granted = grant.scope.split(' ') as Scope[];
  const wider = asked?.find((scope) => !granted.includes(scope as Scope));
  if (wider) throw new OAuthError('invalid_scope', `scope ${wider} was not granted`);
  // Live a moment ago, yet not spent by us: a concurrent request spent it, the same reuse.
  if (!rotated) return reused(bridge, grant.id);

  const tokens = await signTokens(bridge, client, grant.id, {
    subject: before.subject,
    scopes: (asked ?? granted) as Scope[],
    authTime: grant.authTime,
    amr: grant.amr.split(' '),
  });
  return { ...tokens, refresh_token: next.token };
}

async function reused(bridge: Bridge, grantId: string): Promise<never> {
  await revokeGrant(bridge.db, grantId, bridge.now);
  throw invalidGrant('the refresh token was already used: the grant is revoked');
}
