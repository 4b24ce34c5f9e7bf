/**
 * RFC 6749 §6 refresh, with rotation and reuse detection (RFC 9700
 * §4.14.2): a refresh token works once; presenting a spent one revokes
 * its whole grant, access tokens included.
 */
import type { Bridge } from '../../context';
import type { Client } from '../../store/clients';
import { findRefreshToken, revokeGrant } from '../../store/grants';
import { sha256 } from '../../tokens/crypto';
import { issueForRefresh } from '../../tokens/issue';
import { GRANT_TYPES } from '../client-metadata';
import { invalidGrant, invalidRequest, OAuthError, unauthorizedClient } from '../errors';
import { isValidScopeString, type Scope } from '../scopes';

export async function refreshTokenGrant(bridge: Bridge, client: Client, params: Map<string, string>) {
  if (!client.metadata.grant_types.includes(GRANT_TYPES.refreshToken)) {
    throw unauthorizedClient('this client is not registered for the refresh_token grant');
  }
  const presented = params.get('refresh_token');
  if (!presented) throw invalidRequest('refresh_token is required');
  const hash = await sha256(presented);
  const found = await findRefreshToken(bridge.db, hash);
  // A token of another client is not this client's to spend, nor to revoke.
  if (!found || found.grant.clientId !== client.clientId) throw invalidGrant('the refresh token is invalid');
  const { grant, token } = found;
  if (grant.revokedAt !== null) throw invalidGrant('the refresh token was revoked');
  if (token.usedAt !== null) {
    await revokeGrant(bridge.db, grant.id, bridge.now);
    throw invalidGrant('the refresh token was already used: the grant is revoked');
  }
  if (token.expiresAt <= bridge.now) throw invalidGrant('the refresh token has expired');

  // RFC 6749 §6: the scope may narrow, never widen.
  const granted = grant.scope.split(' ') as Scope[];
  const requested = params.get('scope');
  if (requested !== undefined && !isValidScopeString(requested)) throw new OAuthError('invalid_scope', 'malformed scope');
  const scopes = requested === undefined ? granted : [...new Set(requested.split(' '))];
  const wider = scopes.find((scope) => !granted.includes(scope as Scope));
  if (wider) throw new OAuthError('invalid_scope', `scope ${wider} was not granted`);

  const tokens = await issueForRefresh(bridge, client, grant, hash, {
    subject: {
      id: found.userId,
      phoneNumber: found.phoneNumber,
      nickname: found.nickname,
      picture: found.picture,
      wechat: { appid: grant.wechatAppid, openid: grant.wechatOpenid, unionid: found.unionid },
    },
    scopes: scopes as Scope[],
    authTime: grant.authTime,
    amr: grant.amr.split(' '),
  });
  if (!tokens) {
    // Spent by a concurrent request between our read and our write: the same reuse.
    await revokeGrant(bridge.db, grant.id, bridge.now);
    throw invalidGrant('the refresh token was already used: the grant is revoked');
  }
  return tokens;
}
