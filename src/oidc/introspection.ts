/**
 * Token introspection, RFC 7662. A client learns about its own tokens only:
 * anything else is `{"active": false}` (§2.2), as is anything revoked.
 */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { sha256 } from '../crypto';
import { invalidRequest } from '../errors';
import { subjectFor } from '../identity/pairwise';
import { findRefreshToken, refreshTokenProblem } from '../store/grants';
import { activeAccessToken } from './bearer';
import { clientRequest } from './client-auth';

export const introspection = new Hono<AppEnv>().post('/', async (c) => {
  const context = bridge(c);
  const { db, config, now } = context;
  const { client, params } = await clientRequest(c, context);
  const token = params.get('token');
  if (!token) throw invalidRequest('token is required');

  const access = await activeAccessToken(context, token);
  if (access) {
    if (access.claims.client_id !== client.clientId) return c.json({ active: false });
    const { claims } = access;
    return c.json({
      active: true,
      token_type: 'Bearer',
      scope: claims.scope,
      client_id: claims.client_id,
      sub: claims.sub,
      aud: claims.aud,
      iss: claims.iss,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      auth_time: claims.auth_time,
    });
  }
  // Refresh tokens are opaque base64url: a JWT-shaped token is never one.
  const refresh = token.includes('.') ? undefined : await findRefreshToken(db, await sha256(token));
  if (!refresh || refreshTokenProblem(refresh, client.clientId, undefined, now)) return c.json({ active: false });
  return c.json({
    active: true,
    token_type: 'refresh_token',
    scope: refresh.grant.scope,
    client_id: refresh.grant.clientId,
    // A refresh token's grant is this client's (refreshTokenProblem): the sub it sees, as its access tokens carry.
    sub: await subjectFor(config.pairwiseSecret, client, refresh.subject.id),
    iss: config.issuer,
    exp: refresh.token.expiresAt,
    iat: refresh.token.createdAt,
    auth_time: refresh.grant.authTime,
  });
});
