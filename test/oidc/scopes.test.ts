import { describe, expect, it } from 'vitest';
import { requestedScopes, scopeTokens } from '../../src/oidc/scopes';
import { GRANT_TYPES, SUPPORTED_SCOPES, type Client, type GrantType } from '../../src/types';
import { thrownBy } from '../support/errors';

const clientWith = (grant_types: GrantType[]): Client => ({
  clientId: 'client-1',
  secretHash: null,
  issuedAt: 0,
  metadata: {
    redirect_uris: ['https://rp.example.com/callback'],
    token_endpoint_auth_method: 'none',
    grant_types,
    response_types: grant_types.includes(GRANT_TYPES.authorizationCode) ? ['code'] : [],
    application_type: 'web',
    post_logout_redirect_uris: [],
  },
});
const withRefresh = clientWith([GRANT_TYPES.authorizationCode, GRANT_TYPES.refreshToken]);
const withoutRefresh = clientWith([GRANT_TYPES.authorizationCode, GRANT_TYPES.tokenExchange, GRANT_TYPES.deviceCode]);

describe('RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E )', () => {
  it.each([
    ['one token', 'openid', ['openid']],
    ['several tokens, in the order given', 'profile openid phone', ['profile', 'openid', 'phone']],
    ['a repeated token once', 'openid profile openid', ['openid', 'profile']],
    ['an unknown token is still a token', 'email', ['email']],
    ['tokens are case-sensitive', 'openid OpenID', ['openid', 'OpenID']],
    ['%x21, the lowest allowed character', '!', ['!']],
    ['%x23 and %x5B around the excluded %x22', '#[', ['#[']],
    ['%x5D and %x7E around the excluded %x5C', ']~', [']~']],
    ['URIs are scope tokens', 'https://api.example.com/read urn:x:y', ['https://api.example.com/read', 'urn:x:y']],
    ['punctuation that SQL and regexes care about', "a%_' *.+ ()", ["a%_'", '*.+', '()']],
  ])('accepts %s', (_, value, tokens) => {
    expect(scopeTokens(value)).toEqual(tokens);
  });

  it.each([
    ['the empty string', ''],
    ['a lone space', ' '],
    ['a leading space', ' openid'],
    ['a trailing space', 'openid '],
    ['two spaces between tokens', 'openid  profile'],
    ['a tab as separator', 'openid\tprofile'],
    ['a newline as separator', 'openid\nprofile'],
    ['a no-break space as separator', 'openid\u00a0profile'],
    ['two spaces after a comma', 'openid,  profile'],
    ['a double quote (%x22)', 'open"id'],
    ['a backslash (%x5C)', 'open\\id'],
    ['a control character', 'openid\u0000'],
    ['DEL (%x7F)', 'openid\u007f'],
    ['a non-ASCII character', 'openid 档案'],
  ])('refuses %s as invalid_scope', (_, value) => {
    const thrown = thrownBy(() => scopeTokens(value));
    expect([thrown.error, thrown.status]).toEqual(['invalid_scope', 400]);
  });
});

describe('RFC 6749 §3.3, docs/protocol.md §7: the scopes a new grant gets', () => {
  it.each([
    // [case, client, scope parameter, granted]
    ['no scope parameter is openid', withRefresh, undefined, ['openid']],
    ['no scope parameter is openid, without the refresh_token grant too', withoutRefresh, undefined, ['openid']],
    ['openid alone', withRefresh, 'openid', ['openid']],
    ['every supported scope, in SUPPORTED_SCOPES order', withRefresh, 'offline_access wechat phone profile openid', ['openid', 'profile', 'phone', 'wechat', 'offline_access']],
    ['order follows SUPPORTED_SCOPES, not the request', withRefresh, 'phone openid', ['openid', 'phone']],
    ['duplicates are granted once', withRefresh, 'profile openid profile openid', ['openid', 'profile']],
    ['unknown scopes beside supported ones are dropped', withRefresh, 'email openid address profile', ['openid', 'profile']],
    ['a comma list: "openid," is an unknown token', withRefresh, 'openid, profile', ['profile']],
    ['a supported name in another case is unknown, and dropped', withRefresh, 'openid PROFILE', ['openid']],
    ['a scope without openid is granted as asked (OAuth, not OpenID Connect)', withRefresh, 'profile', ['profile']],
    ['offline_access with the refresh_token grant', withRefresh, 'openid offline_access', ['openid', 'offline_access']],
    ['offline_access alone with the refresh_token grant', withRefresh, 'offline_access', ['offline_access']],
    ['offline_access is dropped without the refresh_token grant', withoutRefresh, 'openid offline_access', ['openid']],
    ['offline_access for a client of the refresh_token and token exchange grants', clientWith([GRANT_TYPES.refreshToken, GRANT_TYPES.tokenExchange]), 'openid offline_access', ['openid', 'offline_access']],
  ] as const)('%s', (_, client, scope, granted) => {
    expect(requestedScopes(client, scope)).toEqual(granted);
  });

  it.each([
    // [case, client, scope parameter]
    ['a malformed scope', withRefresh, 'openid  profile'],
    ['the empty string (present, but not a scope)', withRefresh, ''],
    ['only unknown scopes', withRefresh, 'email address'],
    ['only supported names in another case', withRefresh, 'OPENID Profile'],
    ['only offline_access, without the refresh_token grant', withoutRefresh, 'offline_access'],
    ['offline_access and unknown scopes, without the refresh_token grant', withoutRefresh, 'offline_access email'],
  ] as const)('%s is invalid_scope', (_, client, scope) => {
    const thrown = thrownBy(() => requestedScopes(client, scope));
    expect([thrown.error, thrown.status]).toEqual(['invalid_scope', 400]);
  });

  it.each(SUPPORTED_SCOPES.filter((scope) => scope !== 'offline_access'))('%s alone is granted to any client', (scope) => {
    expect(requestedScopes(withoutRefresh, scope)).toEqual([scope]);
  });
});
