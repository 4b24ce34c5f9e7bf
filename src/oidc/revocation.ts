/**
 * Token revocation, RFC 7009. Revoking a refresh token revokes its grant
 * (§2.1: "SHOULD also invalidate all access tokens based on the same
 * authorization grant"); revoking an access token revokes that token.
 */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { sha256 } from '../crypto';
import { invalidRequest, OAuthError } from '../errors';
import { findRefreshToken, revokeAccessToken, revokeGrant } from '../store/grants';
import { verifyAccessToken } from '../tokens/jwt';
import { clientRequest } from './client-auth';

const HINTS = new Set(['access_token', 'refresh_token']);

export const revocation = new Hono<AppEnv>().post('/', async (c) => {
  const context = bridge(c);
  const { db, config, now } = context;
  const { client, params } = await clientRequest(c, context);
  const token = params.get('token');
  if (!token) throw invalidRequest('token is required');
  const hint = params.get('token_type_hint');
  // RFC 7009 §2.2.1
  if (hint !== undefined && !HINTS.has(hint)) throw new OAuthError('unsupported_token_type', 'token_type_hint has an unsupported value');

  // The hint only orders the lookups (§2.1); a JWT is tried as an access token first.
  const claims = await verifyAccessToken(await context.keys(), config.issuer, token);
  if (claims) {
    if (claims.client_id === client.clientId) await revokeAccessToken(db, claims.jti, claims.exp);
  } else {
    const found = await findRefreshToken(db, await sha256(token));
    if (found && found.grant.clientId === client.clientId) await revokeGrant(db, found.grant.id, now);
  }
  // §2.2: 200 whether or not the token was valid, or this client's.
  return c.body(null, 200);
});
