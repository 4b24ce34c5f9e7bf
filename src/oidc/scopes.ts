/** Scopes and the claims they release (SPEC.md §7, OpenID Connect Core §5.4). */

export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'nickname', 'picture'],
  phone: ['phone_number', 'phone_number_verified'],
  wechat: ['wechat_appid', 'wechat_openid', 'wechat_unionid'],
  offline_access: [],
} as const satisfies Record<string, readonly string[]>;

export type Scope = keyof typeof SCOPE_CLAIMS;

export const SUPPORTED_SCOPES = Object.keys(SCOPE_CLAIMS) as Scope[];

export const SUPPORTED_CLAIMS = [
  ...new Set([
    'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'amr', 'azp',
    ...Object.values(SCOPE_CLAIMS).flat(),
  ]),
];

const isScope = (value: string): value is Scope => Object.hasOwn(SCOPE_CLAIMS, value);

/**
 * RFC 6749 §3.3: the granted scope may be narrower than the requested one.
 * Unknown scopes are dropped (as OpenID Connect providers commonly do), and
 * `offline_access` only stays for clients allowed the refresh_token grant.
 */
export function grantScopes(requested: string | undefined, options: { refreshAllowed: boolean }): Scope[] {
  const asked = new Set((requested ?? 'openid').split(' ').filter(isScope));
  if (!options.refreshAllowed) asked.delete('offline_access');
  return SUPPORTED_SCOPES.filter((scope) => asked.has(scope));
}

/** RFC 6749 §3.3 scope-token syntax: space-separated %x21 / %x23-5B / %x5D-7E. */
export function isValidScopeString(value: string): boolean {
  return /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/.test(value);
}
