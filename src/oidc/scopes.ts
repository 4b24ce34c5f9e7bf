/** Which scopes a request gets (RFC 6749 §3.3), decided once for every grant. */
import { OAuthError } from '../errors';
import { GRANT_TYPES, SCOPE_CLAIMS, SUPPORTED_SCOPES, type Client, type Scope } from '../types';

export const SUPPORTED_CLAIMS = [
  ...new Set([
    'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'azp',
    ...Object.values(SCOPE_CLAIMS).flat(),
  ]),
];

/** RFC 6749 §3.3 scope-token syntax: space-separated %x21 / %x23-5B / %x5D-7E. */
const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;

/**
 * Bounds on a `scope` parameter. Far above any real request (five scopes are
 * supported), low enough that a refresh's scope check, one SQL variable per
 * scope, stays within D1's limits on variables and statement size.
 */
export const MAX_SCOPE_LENGTH = 1024;
export const MAX_SCOPES = 32;

/**
 * The distinct scope tokens of a `scope` parameter. Malformed, too long or
 * too many is `invalid_scope` (RFC 6749 §5.2: "invalid, unknown, malformed"),
 * decided here before any of it reaches storage.
 */
export function scopeTokens(value: string): string[] {
  if (value.length > MAX_SCOPE_LENGTH) throw new OAuthError('invalid_scope', 'scope is too long');
  if (!SCOPE_SYNTAX.test(value)) throw new OAuthError('invalid_scope', 'malformed scope');
  const tokens = value.split(' ');
  if (tokens.length > MAX_SCOPES) throw new OAuthError('invalid_scope', 'scope has too many values');
  return [...new Set(tokens)];
}

/**
 * The scopes a new grant gets for a `scope` parameter (absent: `openid`):
 * the authorization request, the device authorization request and the token
 * exchange all decide here. The granted scope may be narrower than the
 * requested one (§3.3): unknown scopes are dropped, as OpenID Connect
 * providers commonly do, and `offline_access` stays only for clients allowed
 * the refresh_token grant; a scope the client did not register is dropped
 * too. Nothing left is `invalid_scope`.
 */
export function requestedScopes(client: Client, scope: string | undefined): Scope[] {
  const asked = new Set(scope === undefined ? ['openid'] : scopeTokens(scope));
  if (!client.metadata.grant_types.includes(GRANT_TYPES.refreshToken)) asked.delete('offline_access');
  const allowed = client.metadata.scope?.split(' ');
  const granted = SUPPORTED_SCOPES.filter((name) => asked.has(name) && (!allowed || allowed.includes(name)));
  if (granted.length === 0) throw new OAuthError('invalid_scope', 'no supported scope was requested');
  return granted;
}
