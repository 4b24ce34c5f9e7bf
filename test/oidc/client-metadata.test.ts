import { describe, expect, it } from 'vitest';
import { backchannelUriProblem, parseClientMetadata, redirectUriProblem } from '../../src/oidc/client-metadata';
import { GRANT_TYPES, type ApplicationType } from '../../src/types';
import { thrownBy } from '../support/errors';

const APPIDS = ['wx0000000000app001', 'wx0000000000mini01'] as const;
const CODE = GRANT_TYPES.authorizationCode;
const REFRESH = GRANT_TYPES.refreshToken;
const EXCHANGE = GRANT_TYPES.tokenExchange;
const DEVICE = GRANT_TYPES.deviceCode;
const WEB_REDIRECT = 'https://rp.example.com/callback';

const parse = (body: unknown, loopbackIssuer = false) => parseClientMetadata(body, { appids: APPIDS, loopbackIssuer });

describe('RFC 7591 §2: defaults of omitted metadata', () => {
  it('a body with only redirect_uris is a confidential web client of the code flow', () => {
    expect(parse({ redirect_uris: [WEB_REDIRECT] })).toEqual({
      redirect_uris: [WEB_REDIRECT],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [CODE],
      response_types: ['code'],
      application_type: 'web',
      post_logout_redirect_uris: [],
      scope: 'openid profile phone wechat offline_access',
      subject_type: 'public',
      backchannel_logout_session_required: false,
    });
  });

  it.each([
    // [case, body, expected subset]
    ['response_types follow a grant list with the code grant', { grant_types: [CODE, REFRESH], redirect_uris: [WEB_REDIRECT] }, { response_types: ['code'] }],
    ['response_types are empty for a grant list without the code grant', { grant_types: [EXCHANGE] }, { response_types: [], redirect_uris: [] }],
    ['redirect_uris may be omitted without the code grant', { grant_types: [DEVICE, REFRESH] }, { redirect_uris: [], grant_types: [DEVICE, REFRESH] }],
    ['every supported grant type at once', { grant_types: [CODE, REFRESH, EXCHANGE, DEVICE], redirect_uris: [WEB_REDIRECT] }, { grant_types: [CODE, REFRESH, EXCHANGE, DEVICE] }],
    ['an explicit response_types ["code"] with the code grant', { response_types: ['code'], redirect_uris: [WEB_REDIRECT] }, { response_types: ['code'] }],
    ['an explicit empty response_types without the code grant', { response_types: [], grant_types: [EXCHANGE] }, { response_types: [] }],
    ['client_secret_post', { token_endpoint_auth_method: 'client_secret_post', redirect_uris: [WEB_REDIRECT] }, { token_endpoint_auth_method: 'client_secret_post' }],
    ['a public client (none)', { token_endpoint_auth_method: 'none', redirect_uris: [WEB_REDIRECT] }, { token_endpoint_auth_method: 'none' }],
    ['application_type native', { application_type: 'native', redirect_uris: ['http://127.0.0.1/cb'] }, { application_type: 'native' }],
    ['duplicate redirect_uris are dropped, order kept', { redirect_uris: ['https://b.example/cb', WEB_REDIRECT, 'https://b.example/cb'] }, { redirect_uris: ['https://b.example/cb', WEB_REDIRECT] }],
    ['duplicate grant_types are dropped', { grant_types: [EXCHANGE, EXCHANGE] }, { grant_types: [EXCHANGE] }],
    ['twenty redirect_uris', { redirect_uris: Array.from({ length: 20 }, (_, i) => `https://rp.example.com/cb${i}`) }, {}],
    ['post_logout_redirect_uris', { redirect_uris: [WEB_REDIRECT], post_logout_redirect_uris: ['https://rp.example.com/bye'] }, { post_logout_redirect_uris: ['https://rp.example.com/bye'] }],
    ['a client_name of one character', { client_name: 'A', redirect_uris: [WEB_REDIRECT] }, { client_name: 'A' }],
    ['a client_name of 200 characters', { client_name: '名'.repeat(200), redirect_uris: [WEB_REDIRECT] }, { client_name: '名'.repeat(200) }],
    ['wechat_appids among the configured apps', { wechat_appids: ['wx0000000000mini01'], grant_types: [EXCHANGE] }, { wechat_appids: ['wx0000000000mini01'] }],
    ['subject_type public', { subject_type: 'public', redirect_uris: [WEB_REDIRECT] }, { subject_type: 'public' }],
    ['subject_type pairwise', { subject_type: 'pairwise', redirect_uris: [WEB_REDIRECT] }, { subject_type: 'pairwise' }],
    ['a pairwise client on one host with several redirect URIs and ports', { subject_type: 'pairwise', redirect_uris: [WEB_REDIRECT, 'https://rp.example.com/other', 'http://127.0.0.1/cb'] }, { subject_type: 'pairwise' }],
    ['a pairwise client without https redirect URIs (its own sector)', { subject_type: 'pairwise', grant_types: [DEVICE] }, { subject_type: 'pairwise' }],
    ['a public client on several hosts', { redirect_uris: [WEB_REDIRECT, 'https://other.example/cb'] }, { subject_type: 'public' }],
    ['an https backchannel_logout_uri', { backchannel_logout_uri: 'https://rp.example.com/logout?x=1', redirect_uris: [WEB_REDIRECT] }, { backchannel_logout_uri: 'https://rp.example.com/logout?x=1', backchannel_logout_session_required: false }],
    ['backchannel_logout_session_required true', { backchannel_logout_uri: 'https://rp.example.com/bc', backchannel_logout_session_required: true, redirect_uris: [WEB_REDIRECT] }, { backchannel_logout_session_required: true }],
  ])('%s', (_, body, expected) => {
    expect(parse(body)).toMatchObject(expected);
  });

  it.each([
    ['unknown metadata', { redirect_uris: [WEB_REDIRECT], jwks_uri: 'https://rp.example.com/jwks', tos_uri: 'https://rp.example.com/tos' }, ['jwks_uri', 'tos_uri']],
    ['no client_name', { redirect_uris: [WEB_REDIRECT] }, ['client_name']],
    ['no wechat_appids: every configured app', { redirect_uris: [WEB_REDIRECT] }, ['wechat_appids']],
    ['no backchannel_logout_uri', { redirect_uris: [WEB_REDIRECT] }, ['backchannel_logout_uri']],
  ])('%s: left out of the metadata', (_, body, absent) => {
    const metadata = parse(body) as unknown as Record<string, unknown>;
    for (const field of absent) expect(metadata).not.toHaveProperty(field);
  });
});

describe('RFC 7591 §2, §3.2.2: invalid metadata is invalid_client_metadata, an invalid redirect URI is invalid_redirect_uri', () => {
  it.each([
    // [section, case, body, error]
    ['RFC 7591 §3.2.2', 'a JSON array', [], 'invalid_client_metadata'],
    ['RFC 7591 §3.2.2', 'null', null, 'invalid_client_metadata'],
    ['RFC 7591 §3.2.2', 'a string', 'redirect_uris', 'invalid_client_metadata'],
    ['RFC 7591 §3.2.2', 'a number', 42, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'an unknown application_type', { application_type: 'browser', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'application_type that is not a string', { application_type: ['web'], redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'an unsupported token_endpoint_auth_method', { token_endpoint_auth_method: 'private_key_jwt', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'an unsupported grant type', { grant_types: ['implicit'], redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'the password grant', { grant_types: [CODE, 'password'], redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'grant_types as a string', { grant_types: CODE, redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'an empty grant_types', { grant_types: [], redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'grant_types with a number', { grant_types: [CODE, 1], redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'more than 20 grant_types', { grant_types: Array(21).fill(CODE), redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2.1', 'response_types token', { response_types: ['token'], redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2.1', 'response_types code without the code grant', { response_types: ['code'], grant_types: [EXCHANGE] }, 'invalid_client_metadata'],
    ['RFC 7591 §2.1', 'empty response_types with the code grant', { response_types: [], redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2.1', 'response_types that is not an array', { response_types: 'code', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'the code grant without redirect_uris', {}, 'invalid_redirect_uri'],
    ['RFC 7591 §2', 'the code grant with empty redirect_uris', { redirect_uris: [] }, 'invalid_redirect_uri'],
    ['RFC 7591 §2', 'redirect_uris as a string', { redirect_uris: WEB_REDIRECT }, 'invalid_redirect_uri'],
    ['RFC 7591 §2', 'redirect_uris as null', { redirect_uris: null }, 'invalid_redirect_uri'],
    ['RFC 7591 §2', 'redirect_uris with a number', { redirect_uris: [WEB_REDIRECT, 7] }, 'invalid_redirect_uri'],
    ['RFC 7591 §2', 'more than 20 redirect_uris', { redirect_uris: Array.from({ length: 21 }, (_, i) => `https://rp.example.com/cb${i}`) }, 'invalid_redirect_uri'],
    ['RFC 6749 §3.1.2', 'a redirect URI with a fragment', { redirect_uris: [`${WEB_REDIRECT}#frag`] }, 'invalid_redirect_uri'],
    ['RFC 6749 §3.1.2.1', 'a web redirect URI over http to a public host', { redirect_uris: ['http://rp.example.com/callback'] }, 'invalid_redirect_uri'],
    ['RFC 8252 §8.3', 'a native redirect URI on localhost', { application_type: 'native', redirect_uris: ['http://localhost/cb'] }, 'invalid_redirect_uri'],
    ['RFC 7591 §2', 'a bad redirect URI without the code grant', { grant_types: [EXCHANGE], redirect_uris: ['not a uri'] }, 'invalid_redirect_uri'],
    ['OpenID Connect RP-Initiated Logout §3.1', 'post_logout_redirect_uris with a fragment', { redirect_uris: [WEB_REDIRECT], post_logout_redirect_uris: ['https://rp.example.com/bye#x'] }, 'invalid_client_metadata'],
    ['OpenID Connect RP-Initiated Logout §3.1', 'post_logout_redirect_uris over http', { redirect_uris: [WEB_REDIRECT], post_logout_redirect_uris: ['http://rp.example.com/bye'] }, 'invalid_client_metadata'],
    ['OpenID Connect RP-Initiated Logout §3.1', 'post_logout_redirect_uris as a string', { redirect_uris: [WEB_REDIRECT], post_logout_redirect_uris: 'https://rp.example.com/bye' }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'an empty client_name', { client_name: '', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'a client_name of 201 characters', { client_name: 'x'.repeat(201), redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'a client_name that is not a string', { client_name: 42, redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['RFC 7591 §2', 'a client_name of null', { client_name: null, redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['protocol §3', 'an empty wechat_appids', { wechat_appids: [], grant_types: [EXCHANGE] }, 'invalid_client_metadata'],
    ['protocol §3', 'a wechat_appid not configured', { wechat_appids: ['wx9999999999999999'], grant_types: [EXCHANGE] }, 'invalid_client_metadata'],
    ['protocol §3', 'wechat_appids as a string', { wechat_appids: 'wx0000000000app001', grant_types: [EXCHANGE] }, 'invalid_client_metadata'],
    ['OpenID Connect Core §8', 'an unknown subject_type', { subject_type: 'ppid', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['OpenID Connect Core §8', 'subject_type that is not a string', { subject_type: ['pairwise'], redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['OpenID Connect Core §8.1', 'a pairwise client on two https hosts', { subject_type: 'pairwise', redirect_uris: [WEB_REDIRECT, 'https://other.example/cb'] }, 'invalid_client_metadata'],
    ['OpenID Connect Core §8.1', 'a pairwise client on two ports of one host', { subject_type: 'pairwise', redirect_uris: [WEB_REDIRECT, 'https://rp.example.com:8443/cb'] }, 'invalid_client_metadata'],
    ['Back-Channel Logout §2.2', 'a relative backchannel_logout_uri', { backchannel_logout_uri: '/logout', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['Back-Channel Logout §2.2', 'a backchannel_logout_uri with a fragment', { backchannel_logout_uri: 'https://rp.example.com/bc#x', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['Back-Channel Logout §2.2', 'an http backchannel_logout_uri on a public host', { backchannel_logout_uri: 'http://rp.example.com/bc', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['Back-Channel Logout §2.2', 'an http loopback backchannel_logout_uri with a public issuer', { backchannel_logout_uri: 'http://127.0.0.1:9000/bc', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['Back-Channel Logout §2.2', 'a backchannel_logout_uri that is not a string', { backchannel_logout_uri: 7, redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['Back-Channel Logout §2.2', 'a javascript: backchannel_logout_uri', { backchannel_logout_uri: 'javascript:alert(1)', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
    ['Back-Channel Logout §2.2', 'backchannel_logout_session_required as a string', { backchannel_logout_session_required: 'true', redirect_uris: [WEB_REDIRECT] }, 'invalid_client_metadata'],
  ] as const)('%s: %s is %s', (_, __, body, error) => {
    const thrown = thrownBy(() => parse(body));
    expect([thrown.error, thrown.status]).toEqual([error, 400]);
  });
});

describe('RFC 6749 §3.1.2, §3.1.2.1, RFC 8252 §7.1, §7.2, §7.3, §8.3: which redirect URIs a client may register', () => {
  it.each([
    // [section, uri, web accepted, native accepted]
    ['RFC 6749 §3.1.2.1: https', 'https://rp.example.com/callback', true, true],
    ['RFC 8252 §7.2: a claimed https URI with a port and query', 'https://app.example.com:8443/cb?x=1', true, true],
    ['RFC 8252 §7.3: http on 127.0.0.1', 'http://127.0.0.1/callback', true, true],
    ['RFC 8252 §7.3: http on 127.0.0.1 with a port', 'http://127.0.0.1:8080/callback', true, true],
    ['RFC 8252 §7.3: http on [::1]', 'http://[::1]/callback', true, true],
    ['RFC 8252 §7.3: http on 127.0.0.1 written in hex', 'http://0x7f.0.0.1/callback', true, true],
    ['RFC 8252 §8.3: http on localhost (web development only)', 'http://localhost:3000/callback', true, false],
    ['RFC 8252 §8.3: http on LOCALHOST', 'http://LOCALHOST/callback', true, false],
    ['RFC 6749 §3.1.2.1: http on a public host', 'http://rp.example.com/callback', false, false],
    ['RFC 6749 §3.1.2.1: http on another 127/8 address', 'http://127.0.0.2/callback', false, false],
    ['RFC 6749 §3.1.2.1: http on a name that starts like localhost', 'http://localhost.evil.example/callback', false, false],
    ['RFC 6749 §3.1.2.1: http on 0.0.0.0', 'http://0.0.0.0/callback', false, false],
    ['RFC 8252 §7.1: a reverse-domain private-use scheme', 'com.example.app:/oauth2redirect', false, true],
    ['RFC 8252 §7.1: a reverse-domain private-use scheme with an authority', 'com.example.app://oauth2redirect', false, true],
    ['RFC 8252 §7.1: a private-use scheme that is not a domain name', 'myapp:/oauth2redirect', false, false],
    ['RFC 8252 §7.1: javascript (not a private-use scheme)', 'javascript:alert(1)', false, false],
    ['RFC 8252 §7.1: data (not a private-use scheme)', 'data:text/html,hi', false, false],
    ['RFC 8252 §7.1: file (not a private-use scheme)', 'file:///etc/passwd', false, false],
    ['RFC 8252 §7.1: vbscript (not a private-use scheme)', 'vbscript:msgbox', false, false],
    ['RFC 6749 §3.1.2: a fragment', 'https://rp.example.com/callback#section', false, false],
    ['RFC 6749 §3.1.2: an empty fragment', 'https://rp.example.com/callback#', false, false],
    ['RFC 6749 §3.1.2: a fragment on a loopback redirect', 'http://127.0.0.1/callback#x', false, false],
    ['RFC 6749 §3.1.2: a fragment on a private-use scheme', 'com.example.app:/cb#x', false, false],
    ['RFC 6749 §3.1.2: a relative URI', '/callback', false, false],
    ['RFC 6749 §3.1.2: a scheme-relative URI', '//rp.example.com/callback', false, false],
    ['RFC 6749 §3.1.2: the empty string', '', false, false],
    ['RFC 6749 §3.1.2: 2000 characters', `https://rp.example.com/${'a'.repeat(2000 - 'https://rp.example.com/'.length)}`, true, true],
    ['RFC 6749 §3.1.2: 2001 characters', `https://rp.example.com/${'a'.repeat(2001 - 'https://rp.example.com/'.length)}`, false, false],
  ])('%s: %s (web %s, native %s)', (_, uri, web, native) => {
    const verdict = (type: ApplicationType) => redirectUriProblem(uri, type) === undefined;
    expect({ web: verdict('web'), native: verdict('native') }).toEqual({ web, native });
  });

  it.each([
    ['too long', `https://rp.example.com/${'a'.repeat(2000)}`, 'web', 'too long'],
    ['not absolute', 'callback', 'web', 'not an absolute URI'],
    ['a fragment', 'https://rp.example.com/#', 'native', 'must not have a fragment'],
    ['http off loopback', 'http://rp.example.com/', 'native', 'http is only allowed for loopback redirects'],
    ['a custom scheme for web', 'com.example.app:/cb', 'web', 'web clients must use https'],
    ['a scheme that is no domain name', 'myapp:/cb', 'native', 'a private-use scheme must be a reverse domain name (RFC 8252 §7.1)'],
  ] as const)('names the problem: %s', (_, uri, type, problem) => {
    expect(redirectUriProblem(uri, type)).toBe(problem);
  });

  it.each([
    ['a web client on localhost', 'web', 'http://localhost:3000/cb', undefined],
    ['a native client on localhost', 'native', 'http://localhost:3000/cb', 'invalid_redirect_uri'],
    ['a native client with a private-use scheme', 'native', 'com.example.app:/cb', undefined],
    ['a web client with a private-use scheme', 'web', 'com.example.app:/cb', 'invalid_redirect_uri'],
  ] as const)('registration applies the rule of the application_type: %s', (_, type, uri, error) => {
    const run = () => parse({ application_type: type, redirect_uris: [uri] });
    if (error) expect(thrownBy(run).error).toBe(error);
    else expect(run().redirect_uris).toEqual([uri]);
  });
});

describe('Back-Channel Logout 1.0 §2.2: where a client hears of logouts', () => {
  it.each([
    // [uri, accepted with a public issuer, accepted with a loopback issuer]
    ['https://rp.example.com/backchannel', true, true],
    ['http://127.0.0.1:9000/backchannel', false, true],
    ['http://localhost:9000/backchannel', false, true],
    ['http://[::1]/backchannel', false, true],
    ['http://rp.example.com/backchannel', false, false],
    ['http://localhost.evil.example/backchannel', false, false],
    ['com.example.app:/backchannel', false, false],
    ['https://rp.example.com/backchannel#x', false, false],
    [`https://rp.example.com/${'a'.repeat(2000)}`, false, false],
  ])('%s (public issuer %s, loopback issuer %s)', (uri, publicIssuer, loopbackIssuer) => {
    const verdict = (loopback: boolean) => backchannelUriProblem(uri, loopback) === undefined;
    expect({ publicIssuer: verdict(false), loopbackIssuer: verdict(true) }).toEqual({ publicIssuer, loopbackIssuer });
    // The same rule at registration.
    const run = () => parse({ redirect_uris: [WEB_REDIRECT], backchannel_logout_uri: uri }, true);
    if (loopbackIssuer) expect(run().backchannel_logout_uri).toBe(uri);
    else expect(thrownBy(run).error).toBe('invalid_client_metadata');
  });
});
