/**
 * The admin API's gate, in front of every admin route (src/app.ts): an RFC 6750
 * §2.1 bearer token compared in constant time with ADMIN_TOKEN. With no
 * ADMIN_TOKEN configured nobody passes: an admin API without a secret is closed.
 */
import type { MiddlewareHandler } from 'hono';
import { getConfig } from '../config';
import type { AppEnv } from '../context';
import { timingSafeEqualStrings } from '../crypto';
import { OAuthError } from '../errors';

/** RFC 6750 §3: a request without credentials gets the bare challenge, a wrong token `invalid_token` (§3.1). */
const unauthorized = (presented: boolean) =>
  new OAuthError('invalid_token', 'the admin API needs the admin token', 401, {
    'WWW-Authenticate': presented ? 'Bearer error="invalid_token"' : 'Bearer',
  });

export const adminOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { adminToken } = getConfig(c.env);
  const presented = /^Bearer (\S+)$/i.exec(c.req.header('Authorization') ?? '')?.[1];
  if (presented === undefined) throw unauthorized(false);
  if (adminToken === undefined || !(await timingSafeEqualStrings(presented, adminToken))) throw unauthorized(true);
  await next();
};
