/** The UserInfo endpoint, OpenID Connect Core §5.3, with RFC 6750 bearer tokens (GET and POST). */
import { Hono } from 'hono';
import { bridge, type AppContext, type AppEnv } from '../context';
import { OAuthError } from '../errors';
import { userClaims } from '../tokens/claims';
import type { Scope } from '../types';
import { hasFormBody, readForm } from '../web/request';
import { activeAccessToken } from './bearer';

async function answer(c: AppContext) {
  const context = bridge(c);
  const token = await bearerToken(c);
  const active = token ? await activeAccessToken(context, token) : undefined;
  if (!active) {
    throw new OAuthError('invalid_token', 'the access token is invalid, expired or revoked', 401, {
      'WWW-Authenticate': token ? 'Bearer error="invalid_token"' : 'Bearer',
    });
  }
  const scopes = active.claims.scope.split(' ') as Scope[];
  if (!scopes.includes('openid')) {
    throw new OAuthError('insufficient_scope', 'the openid scope is required', 403, {
      'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="openid"',
    });
  }
  // The token carries the sub its client sees (pairwise or public): no need to compute it again.
  return c.json(userClaims(active.claims.sub, active.subject, scopes));
}

/** RFC 6750 §3.1: a malformed request, with the challenge every error of a protected resource carries (§3). */
const invalidBearerRequest = (description: string) =>
  new OAuthError('invalid_request', description, 400, { 'WWW-Authenticate': 'Bearer error="invalid_request"' });

/** RFC 6750 §2.1 header, or §2.2 form body on POST; never both (§2). */
async function bearerToken(c: AppContext): Promise<string | undefined> {
  const header = c.req.header('Authorization');
  let fromBody: string | undefined;
  if (c.req.method === 'POST' && hasFormBody(c)) {
    try {
      fromBody = (await readForm(c)).get('access_token');
    } catch (error) {
      if (error instanceof OAuthError) throw invalidBearerRequest(error.description);
      throw error;
    }
  }
  if (header !== undefined && fromBody !== undefined) throw invalidBearerRequest('send the access token once');
  if (header === undefined) return fromBody;
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  return match?.[1] ?? '';
}

export const userinfo = new Hono<AppEnv>().get('/', answer).post('/', answer);
