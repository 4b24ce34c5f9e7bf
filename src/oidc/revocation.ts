/**
 * Token revocation, RFC 7009. Revoking a refresh token revokes its grant
 * (§2.1: "SHOULD also invalidate all access tokens based on the same
 * authorization grant"); revoking an access token revokes that token. These
 * are the tokens a client holds to revoke; anything else is a token the bridge
 * does not know (200, §2.2), so it never answers `unsupported_token_type`.
 */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { sha256 } from '../crypto';
import { invalidRequest } from '../errors';
import { findRefreshToken, revokeAccessToken, revokeGrant } from '../store/grants';
import { verifyAccessToken } from '../tokens/jwt';
import { clientRequest } from './client-auth';

export const revocation = new Hono<AppEnv>().post('/', async (c) => {
  const context = bridge(c);
  const { db, config, now } = context;
  const { client, params } = await clientRequest(c, context);
  const token = params.get('token');
  if (!token) throw invalidRequest('token is required');

  // token_type_hint is advisory (§2.1): any value, known or not, is ignored; the
  // token is looked up as each type the bridge revokes, a JWT as an access token first.
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
