/**
 * The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1,
 * RFC 7636) checked as a pipeline of small pure steps that throw
 * OAuthError. Until the client and redirect_uri are known good, a failure is
 * shown to the user (never redirected); after that, it goes back to the
 * client (§4.1.2.1): the caller decides which by the step that failed.
 */
import { invalidRequest, OAuthError } from '../errors';
import { GRANT_TYPES, type AcrRequest, type Client, type ResponseMode, type Scope } from '../types';
import { acrRequest } from './acr-request';
import { requestedScopes } from './scopes';

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scopes: Scope[];
  state?: string;
  nonce?: string;
  codeChallenge?: string;
  prompt: Set<string>;
  maxAge?: number;
  uiLocales?: string;
  loginHint?: string;
  responseMode: ResponseMode;
  acr?: AcrRequest;
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]']);
const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);
const MAX_PARAM = 2048;

/** RFC 6749 §3.1.2.3 exact matching; RFC 8252 §7.3: a native client's loopback redirect may use any port. */
export function matchRedirectUri(client: Client, presented: string): boolean {
  if (client.metadata.redirect_uris.includes(presented)) return true;
  if (client.metadata.application_type !== 'native') return false;
  let url: URL;
  try {
    url = new URL(presented);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || !LOOPBACK.has(url.hostname)) return false;
  url.port = '';
  const portless = url.href;
  return client.metadata.redirect_uris.some((registered) => {
    const candidate = new URL(registered);
    candidate.port = '';
    return candidate.protocol === 'http:' && LOOPBACK.has(candidate.hostname) && candidate.href === portless;
  });
}

/**
 * Whether a client must use PKCE. A native app's secret ships inside every
 * copy of the app, and its redirect can be claimed by another app on the
 * device (RFC 8252 §8.1, §8.5): only PKCE binds the code to the app that
 * asked. Confidential web clients keep the choice (RFC 9700 §2.1.1 lets
 * their nonce do the job), as the OpenID conformance suite runs them.
 */
export const requiresPkce = (client: Client) =>
  client.metadata.application_type === 'native' || client.metadata.token_endpoint_auth_method === 'none';

/** Step one: the client and redirect_uri. A failure here is shown, never redirected. */
export function checkRedirectTarget(client: Client | undefined, params: Map<string, string>): { client: Client; redirectUri: string } {
  if (!params.get('client_id')) throw invalidRequest('client_id is missing');
  if (!client) throw new OAuthError('invalid_client', 'this application is not registered');
  const redirectUri = params.get('redirect_uri');
  // OpenID Connect Core §3.1.2.1 requires redirect_uri; so do we, for OAuth requests too.
  if (!redirectUri) throw invalidRequest('redirect_uri is missing');
  if (!matchRedirectUri(client, redirectUri)) {
    throw new OAuthError('invalid_redirect_uri', 'redirect_uri is not registered for this application');
  }
  return { client, redirectUri };
}

/**
 * OAuth 2.0 Multiple Response Types §2.1 and §3.1: a code travels in the
 * query (the default) or, OAuth 2.0 Form Post Response Mode §2, in a form the
 * browser posts to an http(s) redirect_uri; never in the fragment.
 */
export function checkResponseMode(params: Map<string, string>, redirectUri: string): ResponseMode {
  const mode = params.get('response_mode') ?? 'query';
  if (mode !== 'query' && mode !== 'form_post') throw invalidRequest('response_mode must be query or form_post');
  if (mode === 'form_post' && !/^https?:$/.test(new URL(redirectUri).protocol)) throw invalidRequest('response_mode=form_post needs an http(s) redirect_uri');
  return mode;
}

/** How an error found before the request is fully checked goes back: as asked, when it could be (else the default, the query). */
export function errorResponseMode(params: Map<string, string>, redirectUri: string): ResponseMode {
  try {
    return checkResponseMode(params, redirectUri);
  } catch {
    return 'query';
  }
}

/** Step two: everything else. A failure here goes back to the client. */
export function checkAuthorizationRequest(client: Client, redirectUri: string, params: Map<string, string>): AuthorizationRequest {
  for (const value of params.values()) {
    if (value.length > MAX_PARAM) throw invalidRequest('a parameter is too long');
  }
  if (params.has('request')) throw new OAuthError('request_not_supported', 'request objects are not supported');
  if (params.has('request_uri')) throw new OAuthError('request_uri_not_supported', 'request_uri is not supported');

  const responseType = params.get('response_type');
  if (!responseType) throw invalidRequest('response_type is missing');
  if (responseType !== 'code') throw new OAuthError('unsupported_response_type', 'only response_type=code is supported');
  if (!client.metadata.grant_types.includes(GRANT_TYPES.authorizationCode)) {
    throw new OAuthError('unauthorized_client', 'this client is not registered for the authorization code flow');
  }
  const responseMode = checkResponseMode(params, redirectUri);

  const scopes = requestedScopes(client, params.get('scope'));

  // RFC 7636 §4.3: S256 only. RFC 8252 §8.1, RFC 9700 §2.1.1: required of native apps and public clients.
  const codeChallenge = params.get('code_challenge');
  const method = params.get('code_challenge_method');
  if (codeChallenge === undefined) {
    if (method !== undefined) throw invalidRequest('code_challenge_method without code_challenge');
    if (requiresPkce(client)) throw invalidRequest('PKCE (code_challenge with S256) is required for native apps and public clients');
  } else {
    if (method !== 'S256') throw invalidRequest('code_challenge_method must be S256');
    if (!PKCE_CHALLENGE.test(codeChallenge)) throw invalidRequest('code_challenge is malformed');
  }

  // OpenID Connect Core §3.1.2.1: prompt is a space-separated set; "none" stands alone.
  const prompt = new Set(params.get('prompt')?.split(' ') ?? []);
  for (const value of prompt) {
    if (!PROMPTS.has(value)) throw invalidRequest('prompt has an unsupported value');
  }
  if (prompt.has('none') && prompt.size > 1) throw invalidRequest('prompt=none must stand alone');

  const maxAgeParam = params.get('max_age');
  let maxAge: number | undefined;
  if (maxAgeParam !== undefined) {
    if (!/^\d{1,10}$/.test(maxAgeParam)) throw invalidRequest('max_age must be a non-negative integer');
    maxAge = Number(maxAgeParam);
  }

  return {
    clientId: client.clientId,
    redirectUri,
    scopes,
    state: params.get('state'),
    nonce: params.get('nonce'),
    codeChallenge,
    prompt,
    maxAge,
    uiLocales: params.get('ui_locales'),
    loginHint: params.get('login_hint'),
    responseMode,
    acr: acrRequest(params.get('acr_values'), params.get('claims')),
  };
}
