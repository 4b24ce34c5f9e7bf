/**
 * RFC 6749 §6 refresh, with rotation and reuse detection (RFC 9700
 * §4.14.2): a refresh token works once; presenting a spent one revokes
 * its whole grant, access tokens included. Reading and rotating are one
 * D1 round trip (src/store/grants.ts rotateRefreshToken).
 */
import type { Bridge } from '../../context';
import { sha256 } from '../../crypto';
import { invalidGrant, invalidRequest, OAuthError } from '../../errors';
import { refreshTokenProblem, revokeGrant, rotateRefreshToken } from '../../store/grants';
import { refreshTokenValue, signTokens } from '../../tokens/issue';
import type { Client, Scope } from '../../types';
import { scopeTokens } from '../scopes';

export async function refreshTokenGrant(bridge: Bridge, client: Client, params: Map<string, string>) {
  const presented = params.get('refresh_token');
  if (!presented) throw invalidRequest('refresh_token is required');
  const requested = params.get('scope');
  const asked = requested === undefined ? undefined : scopeTokens(requested);

  const [hash, next] = await Promise.all([sha256(presented), refreshTokenValue()]);
  const { before, rotated } = await rotateRefreshToken(bridge.db, {
    oldHash: hash,
    newHash: next.hash,
    clientId: client.clientId,
    scopes: asked,
    now: bridge.now,
    ttl: bridge.config.ttl.refreshToken,
  });
  switch (refreshTokenProblem(before, client.clientId, asked, bridge.now)) {
    case 'unknown':
    case 'other_client':
      throw invalidGrant('the refresh token is invalid');
    case 'revoked':
      throw invalidGrant('the refresh token was revoked');
    case 'used':
      return reused(bridge, before!.grant.id);
    case 'expired':
      throw invalidGrant('the refresh token has expired');
    case 'scope_not_granted':
      // RFC 6749 §6: the scope may narrow, never widen.
      throw new OAuthError('invalid_scope', 'the scope asks for more than was granted');
  }
  const { grant, subject } = before!;
  // Live a moment ago, yet not spent by us: a concurrent request spent it, the same reuse.
  if (!rotated) return reused(bridge, grant.id);

  const tokens = await signTokens(bridge, client, grant.id, {
    subject,
    scopes: (asked ?? grant.scope.split(' ')) as Scope[],
    authTime: grant.authTime,
    amr: grant.amr.split(' '),
    sid: grant.sid ?? undefined,
  });
  return { ...tokens, refresh_token: next.token };
}

async function reused(bridge: Bridge, grantId: string): Promise<never> {
  await revokeGrant(bridge.db, grantId, bridge.now);
  throw invalidGrant('the refresh token was already used: the grant is revoked');
}
