/**
 * The JSON side of the app: endpoints that clients, the mini program and
 * servers call. Errors are the JSON of RFC 6749 §5.2.
 */
import type { ErrorHandler, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context';
import { asOAuthError } from '../errors';

/**
 * Nothing either audience answers is stored unless its handler says so
 * (discovery, JWKS, a login's mini program code): RFC 6749 §5.1 for tokens
 * and credentials, and a page of a login is one person's.
 */
export const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.headers.has('Cache-Control')) return;
  c.res.headers.set('Cache-Control', 'no-store');
  c.res.headers.set('Pragma', 'no-cache');
};

export const jsonError: ErrorHandler<AppEnv> = (thrown, c) => {
  const error = asOAuthError(thrown);
  return c.json(error.toJSON(), error.status, error.headers);
};
