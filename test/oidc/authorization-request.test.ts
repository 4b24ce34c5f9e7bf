import { describe, expect, it } from 'vitest';
import { checkAuthorizationRequest, checkRedirectTarget, matchRedirectUri } from '../../src/oidc/authorization-request';
import { GRANT_TYPES, type Client, type ClientMetadata } from '../../src/types';
import { thrownBy } from '../support/errors';

/** A registered client, built directly (no D1): a confidential web client of the code flow unless told otherwise. */
function client(metadata: Partial<ClientMetadata> = {}): Client {
  return {
    clientId: 'client-1',
    secretHash: 'hash',
    issuedAt: 1_700_000_000,
    metadata: {
      redirect_uris: ['https://rp.example.com/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [GRANT_TYPES.authorizationCode, GRANT_TYPES.refreshToken],
      response_types: ['code'],
      application_type: 'web',
      post_logout_redirect_uris: [],
      ...metadata,
    },
  };
}

const web = (redirect_uris: string[]) => client({ redirect_uris });
const native = (redirect_uris: string[]): Client => ({
  ...client({ redirect_uris, application_type: 'native', token_endpoint_auth_method: 'none' }),
  secretHash: null,
});

/** A native app registered with a secret: the secret ships in every copy of the app (RFC 8252 §8.5). */
const nativeWithSecret = client({ application_type: 'native' });
/** A public web client (a single-page app). */
const publicWeb = { ...client({ token_endpoint_auth_method: 'none' }), secretHash: null };

const params = (entries: Record<string, string | undefined>) =>
  new Map(Object.entries(entries).filter((entry): entry is [string, string] => entry[1] !== undefined));

describe('RFC 6749 §3.1.2.3: exact redirect URI matching; RFC 8252 §7.3: any port on a native loopback redirect', () => {
  it.each([
    // [case, client, presented, matches]
    ['web: the registered URI itself', web(['https://rp.example.com/callback']), 'https://rp.example.com/callback', true],
    ['web: one of several registered URIs', web(['https://a.example.com/cb', 'https://rp.example.com/callback']), 'https://rp.example.com/callback', true],
    ['web: a trailing slash added', web(['https://rp.example.com/callback']), 'https://rp.example.com/callback/', false],
    ['web: a path below the registered one', web(['https://rp.example.com/callback']), 'https://rp.example.com/callback/evil', false],
    ['web: a prefix of the registered one', web(['https://rp.example.com/callback']), 'https://rp.example.com/call', false],
    ['web: a query added', web(['https://rp.example.com/callback']), 'https://rp.example.com/callback?next=evil', false],
    ['web: a fragment added', web(['https://rp.example.com/callback']), 'https://rp.example.com/callback#x', false],
    ['web: the host in another case (string comparison)', web(['https://rp.example.com/callback']), 'https://RP.example.com/callback', false],
    ['web: the path in another case', web(['https://rp.example.com/callback']), 'https://rp.example.com/Callback', false],
    ['web: an explicit default port', web(['https://rp.example.com/callback']), 'https://rp.example.com:443/callback', false],
    ['web: another port', web(['https://rp.example.com/callback']), 'https://rp.example.com:8443/callback', false],
    ['web: http for a registered https', web(['https://rp.example.com/callback']), 'http://rp.example.com/callback', false],
    ['web: a subdomain', web(['https://rp.example.com/callback']), 'https://evil.rp.example.com/callback', false],
    ['web: userinfo added', web(['https://rp.example.com/callback']), 'https://rp.example.com@evil.example/callback', false],
    ['web: the loopback URI itself', web(['http://127.0.0.1:3000/cb']), 'http://127.0.0.1:3000/cb', true],
    ['web: a loopback redirect on another port (the port rule is native only)', web(['http://127.0.0.1/cb']), 'http://127.0.0.1:53121/cb', false],
    ['web: localhost on another port', web(['http://localhost:3000/cb']), 'http://localhost:4000/cb', false],
    ['web: the empty string', web(['https://rp.example.com/callback']), '', false],
    ['native: the registered loopback URI itself', native(['http://127.0.0.1/callback']), 'http://127.0.0.1/callback', true],
    ['native: 127.0.0.1 on any port', native(['http://127.0.0.1/callback']), 'http://127.0.0.1:53121/callback', true],
    ['native: 127.0.0.1 on the highest port', native(['http://127.0.0.1/callback']), 'http://127.0.0.1:65535/callback', true],
    ['native: a registered port does not pin the port', native(['http://127.0.0.1:3000/callback']), 'http://127.0.0.1:4000/callback', true],
    ['native: [::1] on any port', native(['http://[::1]/callback']), 'http://[::1]:61000/callback', true],
    ['native: [::1] presented for a registered 127.0.0.1', native(['http://127.0.0.1/callback']), 'http://[::1]:61000/callback', false],
    ['native: 127.0.0.1 presented for a registered [::1]', native(['http://[::1]/callback']), 'http://127.0.0.1:61000/callback', false],
    ['native: loopback with another path', native(['http://127.0.0.1/callback']), 'http://127.0.0.1:53121/other', false],
    ['native: loopback with a query added', native(['http://127.0.0.1/callback']), 'http://127.0.0.1:53121/callback?x=1', false],
    ['native: loopback with a fragment added', native(['http://127.0.0.1/callback']), 'http://127.0.0.1:53121/callback#x', false],
    ['native: loopback with userinfo added', native(['http://127.0.0.1/callback']), 'http://evil@127.0.0.1:53121/callback', false],
    ['native: localhost is not a loopback IP literal (RFC 8252 §8.3)', native(['http://127.0.0.1/callback']), 'http://localhost:53121/callback', false],
    ['native: a host that starts like a loopback address', native(['http://127.0.0.1/callback']), 'http://127.0.0.1.evil.example:53121/callback', false],
    ['native: https on a loopback port', native(['http://127.0.0.1/callback']), 'https://127.0.0.1:53121/callback', false],
    ['native: a claimed https URI on another port', native(['https://app.example.com/callback']), 'https://app.example.com:8443/callback', false],
    ['native: the claimed https URI itself', native(['https://app.example.com/callback']), 'https://app.example.com/callback', true],
    ['native: the private-use scheme URI itself (RFC 8252 §7.1)', native(['com.example.app:/oauth2redirect']), 'com.example.app:/oauth2redirect', true],
    ['native: another private-use scheme', native(['com.example.app:/oauth2redirect']), 'com.evil.app:/oauth2redirect', false],
    ['native: the private-use path differs', native(['com.example.app:/oauth2redirect']), 'com.example.app:/other', false],
    ['native: not a URI', native(['http://127.0.0.1/callback']), 'not a uri', false],
    ['native: the empty string', native(['http://127.0.0.1/callback']), '', false],
  ])('%s', (_, registered, presented, matches) => {
    expect(matchRedirectUri(registered, presented)).toBe(matches);
  });
});

describe('RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.1: the redirect target is checked before anything is redirected', () => {
  const registered = web(['https://rp.example.com/callback']);

  it.each([
    // [case, client, parameters, error]
    ['no client_id', registered, { redirect_uri: 'https://rp.example.com/callback' }, 'invalid_request'],
    ['no client_id, and no client', undefined, { redirect_uri: 'https://rp.example.com/callback' }, 'invalid_request'],
    ['an unknown client_id', undefined, { client_id: 'nobody', redirect_uri: 'https://rp.example.com/callback' }, 'invalid_client'],
    ['an unknown client_id, and no redirect_uri', undefined, { client_id: 'nobody' }, 'invalid_client'],
    ['no redirect_uri (required by OpenID Connect)', registered, { client_id: 'client-1' }, 'invalid_request'],
    ['an empty redirect_uri', registered, { client_id: 'client-1', redirect_uri: '' }, 'invalid_request'],
    ['an unregistered redirect_uri', registered, { client_id: 'client-1', redirect_uri: 'https://evil.example/callback' }, 'invalid_redirect_uri'],
    ['a redirect_uri with a query added', registered, { client_id: 'client-1', redirect_uri: 'https://rp.example.com/callback?x=1' }, 'invalid_redirect_uri'],
  ] as const)('%s: %s... is %s, shown and never redirected', (_, known, entries, error) => {
    const thrown = thrownBy(() => checkRedirectTarget(known, params(entries)));
    expect([thrown.error, thrown.status]).toEqual([error, 400]);
  });

  it.each([
    ['web', web(['https://rp.example.com/callback']), 'https://rp.example.com/callback'],
    ['native, loopback on an ephemeral port', native(['http://127.0.0.1/callback']), 'http://127.0.0.1:49152/callback'],
  ])('a %s client with a matching redirect_uri passes, with the URI as presented', (_, known, presented) => {
    expect(checkRedirectTarget(known, params({ client_id: 'client-1', redirect_uri: presented }))).toEqual({ client: known, redirectUri: presented });
  });
});

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'; // RFC 7636 Appendix B
const REDIRECT = 'https://rp.example.com/callback';
const valid = {
  client_id: 'client-1',
  redirect_uri: REDIRECT,
  response_type: 'code',
  scope: 'openid',
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
} as const;

describe('RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1: the rest of the authorization request', () => {
  const confidential = client();
  const check = (entries: Record<string, string | undefined>, known: Client = confidential) =>
    checkAuthorizationRequest(known, REDIRECT, params({ ...valid, ...entries }));

  describe('refused, and the error goes back to the client', () => {
    it.each([
      // [section, case, parameters over the valid request, client, error]
      ['RFC 6749 §4.1.2.1', 'a parameter longer than 2048 characters', { state: 'x'.repeat(2049) }, confidential, 'invalid_request'],
      ['RFC 6749 §4.1.2.1', 'an over-long parameter before a bad response_type', { login_hint: 'x'.repeat(4000), response_type: 'token' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §6', 'a request object', { request: 'eyJhbGciOiJub25lIn0.e30.' }, confidential, 'request_not_supported'],
      ['OpenID Connect Core §6', 'a request object before a bad response_type', { request: 'x', response_type: 'token' }, confidential, 'request_not_supported'],
      ['OpenID Connect Core §6', 'a request_uri', { request_uri: 'https://rp.example.com/request.jwt' }, confidential, 'request_uri_not_supported'],
      ['RFC 6749 §3.1.1', 'no response_type', { response_type: undefined }, confidential, 'invalid_request'],
      ['RFC 6749 §3.1.1', 'response_type=token (implicit)', { response_type: 'token' }, confidential, 'unsupported_response_type'],
      ['RFC 6749 §3.1.1', 'response_type=code id_token (hybrid)', { response_type: 'code id_token' }, confidential, 'unsupported_response_type'],
      ['RFC 6749 §3.1.1', 'response_type=CODE (values are case-sensitive)', { response_type: 'CODE' }, confidential, 'unsupported_response_type'],
      ['RFC 6749 §4.1.2.1', 'a client not registered for the code flow', {}, client({ grant_types: [GRANT_TYPES.tokenExchange] }), 'unauthorized_client'],
      ['OAuth 2.0 Multiple Response Types §2.1', 'response_mode=fragment', { response_mode: 'fragment' }, confidential, 'invalid_request'],
      ['OAuth 2.0 Multiple Response Types §2.1', 'an unknown response_mode', { response_mode: 'web_message' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §5.5', 'claims that are not JSON', { claims: '{"id_token":' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §5.5', 'claims that are a JSON array', { claims: '[]' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §5.5', 'claims.id_token that is a string', { claims: '{"id_token":"acr"}' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §5.5.1', 'an acr request that is a list', { claims: '{"id_token":{"acr":[1]}}' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §5.5.1', 'essential that is not a boolean', { claims: '{"id_token":{"acr":{"essential":"yes"}}}' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §5.5.1', 'an acr value that is a number', { claims: '{"id_token":{"acr":{"value":1}}}' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §5.5.1', 'acr values that are not strings', { claims: '{"id_token":{"acr":{"values":[null]}}}' }, confidential, 'invalid_request'],
      ['RFC 6749 §3.3', 'a malformed scope (a double space)', { scope: 'openid  profile' }, confidential, 'invalid_scope'],
      ['RFC 6749 §3.3', 'a scope naming nothing supported', { scope: 'email address' }, confidential, 'invalid_scope'],
      ['RFC 7636 §4.3', 'code_challenge_method without code_challenge', { code_challenge: undefined }, confidential, 'invalid_request'],
      ['RFC 7636 §4.4.1, RFC 9700 §2.1.1', 'a public client without PKCE', { code_challenge: undefined, code_challenge_method: undefined }, native(['https://rp.example.com/callback']), 'invalid_request'],
      ['RFC 8252 §8.1, RFC 9700 §2.1.1', 'a native app with a secret, without PKCE', { code_challenge: undefined, code_challenge_method: undefined }, nativeWithSecret, 'invalid_request'],
      ['RFC 9700 §2.1.1', 'a public web client without PKCE', { code_challenge: undefined, code_challenge_method: undefined }, publicWeb, 'invalid_request'],
      ['RFC 7636 §4.3', 'code_challenge_method=plain', { code_challenge_method: 'plain' }, confidential, 'invalid_request'],
      ['RFC 7636 §4.3', 'no code_challenge_method (its default is plain)', { code_challenge_method: undefined }, confidential, 'invalid_request'],
      ['RFC 7636 §4.3', 'code_challenge_method=s256 (case-sensitive)', { code_challenge_method: 's256' }, confidential, 'invalid_request'],
      ['RFC 7636 §4.2', 'a code_challenge of 42 characters', { code_challenge: CHALLENGE.slice(1) }, confidential, 'invalid_request'],
      ['RFC 7636 §4.2', 'a code_challenge of 44 characters', { code_challenge: `${CHALLENGE}A` }, confidential, 'invalid_request'],
      ['RFC 7636 §4.2', 'a code_challenge with base64 padding', { code_challenge: `${CHALLENGE.slice(1)}=` }, confidential, 'invalid_request'],
      ['RFC 7636 §4.2', 'a code_challenge in base64, not base64url', { code_challenge: `+/${CHALLENGE.slice(2)}` }, confidential, 'invalid_request'],
      ['OpenID Connect Core §3.1.2.1', 'prompt=none with login', { prompt: 'none login' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §3.1.2.1', 'prompt=none after consent', { prompt: 'consent none' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §3.1.2.1', 'an unknown prompt value', { prompt: 'create' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §3.1.2.1', 'a prompt value in another case', { prompt: 'Login' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §3.1.2.1', 'a negative max_age', { max_age: '-1' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §3.1.2.1', 'a fractional max_age', { max_age: '1.5' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §3.1.2.1', 'a max_age in exponent notation', { max_age: '1e3' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §3.1.2.1', 'a max_age that is not a number', { max_age: 'soon' }, confidential, 'invalid_request'],
      ['OpenID Connect Core §3.1.2.1', 'a max_age of 11 digits', { max_age: '12345678901' }, confidential, 'invalid_request'],
    ] as const)('%s: %s is %s', (_, __, entries, known, error) => {
      const thrown = thrownBy(() => check(entries, known));
      expect([thrown.error, thrown.status]).toEqual([error, 400]);
    });
  });

  it('OAuth 2.0 Form Post Response Mode §2: form_post to a private-use scheme redirect is invalid_request; query to it is fine', () => {
    const app = native(['com.example.app:/cb']);
    const request = (mode: string) => checkAuthorizationRequest(app, 'com.example.app:/cb', params({ ...valid, redirect_uri: 'com.example.app:/cb', response_mode: mode }));
    const thrown = thrownBy(() => request('form_post'));
    expect([thrown.error, thrown.status]).toEqual(['invalid_request', 400]);
    expect(request('query').responseMode).toBe('query');
  });

  describe('accepted', () => {
    it('RFC 6749 §4.1.1: carries every parameter the rest of the flow needs', () => {
      expect(
        check({ state: 's-1', nonce: 'n-1', prompt: 'login consent', max_age: '0', ui_locales: 'zh-CN en', login_hint: 'hint', scope: 'openid profile' }),
      ).toEqual({
        clientId: 'client-1',
        redirectUri: REDIRECT,
        scopes: ['openid', 'profile'],
        state: 's-1',
        nonce: 'n-1',
        codeChallenge: CHALLENGE,
        prompt: new Set(['login', 'consent']),
        maxAge: 0,
        uiLocales: 'zh-CN en',
        loginHint: 'hint',
        responseMode: 'query',
        acr: undefined,
      });
    });

    it.each([
      // [section, case, parameters over the valid request, client, what to check]
      ['RFC 6749 §4.1.1', 'a parameter of exactly 2048 characters', { state: 'x'.repeat(2048) }, confidential, { state: 'x'.repeat(2048) }],
      ['RFC 6749 §4.1.1', 'no state, no nonce', { state: undefined, nonce: undefined }, confidential, { state: undefined, nonce: undefined }],
      ['OAuth 2.0 Multiple Response Types §2.1', 'response_mode=query', { response_mode: 'query' }, confidential, { responseMode: 'query' }],
      ['OAuth 2.0 Form Post Response Mode §2', 'response_mode=form_post', { response_mode: 'form_post' }, confidential, { responseMode: 'form_post' }],
      ['OpenID Connect Core §3.1.2.1', 'acr_values, a preference', { acr_values: 'urn:wechat:acr:website urn:x' }, confidential, { acr: { preferred: ['urn:wechat:acr:website', 'urn:x'] } }],
      ['OpenID Connect Core §5.5.1.1', 'an essential acr with values', { claims: '{"id_token":{"acr":{"essential":true,"values":["urn:wechat:acr:website"]}}}' }, confidential, { acr: { essential: ['urn:wechat:acr:website'], preferred: ['urn:wechat:acr:website'] } }],
      ['OpenID Connect Core §5.5.1.1', 'an essential acr with one value', { claims: '{"id_token":{"acr":{"essential":true,"value":"urn:wechat:acr:app"}}}' }, confidential, { acr: { essential: ['urn:wechat:acr:app'] } }],
      ['OpenID Connect Core §5.5.1', 'a voluntary acr claim is a preference', { claims: '{"id_token":{"acr":{"values":["urn:wechat:acr:website"]}}}' }, confidential, { acr: { preferred: ['urn:wechat:acr:website'] } }],
      ['OpenID Connect Core §5.5', 'other claims requested are understood and ignored', { claims: '{"userinfo":{"phone_number":null},"id_token":{"auth_time":{"essential":true}}}' }, confidential, { acr: undefined }],
      ['RFC 6749 §3.3', 'no scope is openid', { scope: undefined }, confidential, { scopes: ['openid'] }],
      ['RFC 6749 §3.3', 'unknown scopes are dropped', { scope: 'openid email' }, confidential, { scopes: ['openid'] }],
      ['RFC 6749 §3.3', 'offline_access for a client of the refresh_token grant', { scope: 'offline_access openid' }, confidential, { scopes: ['openid', 'offline_access'] }],
      ['RFC 6749 §3.3', 'offline_access dropped without the refresh_token grant', { scope: 'openid offline_access' }, client({ grant_types: [GRANT_TYPES.authorizationCode] }), { scopes: ['openid'] }],
      ['RFC 7636 §4.4.1', 'a confidential client without PKCE', { code_challenge: undefined, code_challenge_method: undefined }, confidential, { codeChallenge: undefined }],
      ['RFC 7636 §4.2', 'a public client with S256', {}, native([REDIRECT]), { codeChallenge: CHALLENGE }],
      ['RFC 8252 §8.1', 'a native app with a secret, with S256', {}, nativeWithSecret, { codeChallenge: CHALLENGE }],
      ['RFC 7636 §4.2', 'a code_challenge of every base64url character class', { code_challenge: `${'aZ09_-'.repeat(7)}x` }, confidential, { codeChallenge: `${'aZ09_-'.repeat(7)}x` }],
      ['OpenID Connect Core §3.1.2.1', 'no prompt is the empty set', { prompt: undefined }, confidential, { prompt: new Set() }],
      ['OpenID Connect Core §3.1.2.1', 'prompt=none alone', { prompt: 'none' }, confidential, { prompt: new Set(['none']) }],
      ['OpenID Connect Core §3.1.2.1', 'prompt=select_account', { prompt: 'select_account' }, confidential, { prompt: new Set(['select_account']) }],
      ['OpenID Connect Core §3.1.2.1', 'a prompt value twice', { prompt: 'login login' }, confidential, { prompt: new Set(['login']) }],
      ['OpenID Connect Core §3.1.2.1', 'no max_age', { max_age: undefined }, confidential, { maxAge: undefined }],
      ['OpenID Connect Core §3.1.2.1', 'max_age with leading zeros', { max_age: '0060' }, confidential, { maxAge: 60 }],
      ['OpenID Connect Core §3.1.2.1', 'max_age of 10 digits', { max_age: '9999999999' }, confidential, { maxAge: 9_999_999_999 }],
    ] as const)('%s: %s', (_, __, entries, known, expected) => {
      expect(check(entries, known)).toMatchObject(expected);
    });
  });
});
