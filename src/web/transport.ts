/**
 * HTTP Strict Transport Security (RFC 6797) for an https issuer: every
 * answer, pages and JSON alike, tells the browser to come back over https
 * only, for two years, subdomains included (§6.1.2), so a network attacker
 * cannot strip TLS from a later visit and read a session cookie or a code.
 * A loopback http issuer sends none: HSTS on localhost would pin every other
 * local development server to https.
 */
import type { MiddlewareHandler } from 'hono';
import { bridge, type AppEnv } from '../context';

export const STRICT_TRANSPORT_SECURITY = 'max-age=63072000; includeSubDomains';

export const strictTransport: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (bridge(c).config.issuer.startsWith('https:')) c.res.headers.set('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
};
