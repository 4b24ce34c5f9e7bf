/**
 * Client metadata (RFC 7591 §2) checked as a pure function: what a client
 * registers is what it may later do. Redirect URIs follow RFC 8252 for
 * native apps and OAuth 2.0 Security BCP (RFC 9700 §2.1) for web apps.
 */
import { isLoopbackIssuer, type Config } from '../config';
import { OAuthError } from '../errors';
import { GRANT_TYPES, SUPPORTED_SCOPES, type ApplicationType, type AuthMethod, type ClientMetadata } from '../types';
import { scopeTokens } from './scopes';

export const SUPPORTED_GRANT_TYPES = Object.values(GRANT_TYPES);
export const SUPPORTED_AUTH_METHODS: readonly AuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];

const MAX_URIS = 20;
const MAX_URI_LENGTH = 2000;
const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);
const LOCAL_HOSTS = new Set(['localhost', ...LOOPBACK_IPS]);

const invalidMetadata = (description: string) => new OAuthError('invalid_client_metadata', description);
const invalidRedirect = (description: string) => new OAuthError('invalid_redirect_uri', description);

/** What the bridge's configuration decides about metadata. */
export interface MetadataPolicy {
  /** The WeChat apps configured on the bridge. */
  appids: readonly string[];
  /** The issuer is a loopback address (local development): http back-channel URIs on loopback are allowed. */
  loopbackIssuer: boolean;
}

export const metadataPolicy = (config: Config): MetadataPolicy => ({
  appids: config.wechatApps.map((app) => app.appid),
  loopbackIssuer: isLoopbackIssuer(config.issuer),
});

/** Validates a registration request body (RFC 7591 §2), or an update's (RFC 7592 §2.2). */
export function parseClientMetadata(body: unknown, policy: MetadataPolicy): ClientMetadata {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidMetadata('the request body must be a JSON object');
  }
  const input = body as Record<string, unknown>;

  const applicationType = oneOf(input.application_type, ['web', 'native'] as const, 'application_type') ?? 'web';
  const authMethod = oneOf(input.token_endpoint_auth_method, SUPPORTED_AUTH_METHODS, 'token_endpoint_auth_method') ?? 'client_secret_basic';
  const grantTypes = uniqueList(input.grant_types, 'grant_types', SUPPORTED_GRANT_TYPES) ?? [GRANT_TYPES.authorizationCode];
  if (grantTypes.length === 0) throw invalidMetadata('grant_types must not be empty');
  const usesCode = grantTypes.includes(GRANT_TYPES.authorizationCode);
  const responseTypes = uniqueList(input.response_types, 'response_types', ['code'] as const) ?? (usesCode ? ['code' as const] : []);
  // RFC 7591 §2.1: response_types and grant_types must agree.
  if (responseTypes.includes('code') !== usesCode) {
    throw invalidMetadata('response_type "code" goes with, and only with, the authorization_code grant');
  }

  const redirectUris = uniqueList(input.redirect_uris, 'redirect_uris') ?? [];
  if (usesCode && redirectUris.length === 0) throw invalidRedirect('redirect_uris is required for the authorization_code grant');
  for (const [index, uri] of redirectUris.entries()) {
    const problem = redirectUriProblem(uri, applicationType);
    if (problem) throw invalidRedirect(`redirect_uris[${index}]: ${problem}`);
  }
  const postLogoutUris = uniqueList(input.post_logout_redirect_uris, 'post_logout_redirect_uris') ?? [];
  for (const [index, uri] of postLogoutUris.entries()) {
    const problem = redirectUriProblem(uri, applicationType);
    if (problem) throw invalidMetadata(`post_logout_redirect_uris[${index}]: ${problem}`);
  }

  const metadata: ClientMetadata = {
    redirect_uris: redirectUris,
    token_endpoint_auth_method: authMethod,
    grant_types: grantTypes,
    response_types: responseTypes,
    application_type: applicationType,
    post_logout_redirect_uris: postLogoutUris,
  };
  if (input.client_name !== undefined) {
    if (typeof input.client_name !== 'string' || input.client_name.length === 0 || input.client_name.length > 200) {
      throw invalidMetadata('client_name must be a string of 1 to 200 characters');
    }
    metadata.client_name = input.client_name;
  }
  metadata.scope = registeredScope(input.scope);
  for (const name of ['client_uri', 'logo_uri'] as const) {
    const value = input[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !isHttpsUrl(value)) throw invalidMetadata(`${name} must be an https URL`);
    metadata[name] = value;
  }
  const wechatAppids = uniqueList(input.wechat_appids, 'wechat_appids', policy.appids);
  if (wechatAppids) {
    if (wechatAppids.length === 0) throw invalidMetadata('wechat_appids must not be empty');
    metadata.wechat_appids = wechatAppids;
  }

  // OpenID Connect Core §8: public unless asked. Without a sector_identifier_uri (§8.1), which the bridge
  // does not take, a pairwise client's sector is the one host of its https redirect URIs.
  metadata.subject_type = oneOf(input.subject_type, ['public', 'pairwise'] as const, 'subject_type') ?? 'public';
  const httpsHosts = new Set(redirectUris.filter((uri) => uri.startsWith('https:')).map((uri) => new URL(uri).host));
  if (metadata.subject_type === 'pairwise' && httpsHosts.size > 1) {
    throw invalidMetadata('a pairwise client\'s https redirect_uris must share one host (no sector_identifier_uri is taken)');
  }

  // OpenID Connect Back-Channel Logout 1.0 §2.2.
  if (input.backchannel_logout_uri !== undefined) {
    const problem = typeof input.backchannel_logout_uri === 'string' ? backchannelUriProblem(input.backchannel_logout_uri, policy.loopbackIssuer) : 'must be a string';
    if (problem) throw invalidMetadata(`backchannel_logout_uri: ${problem}`);
    metadata.backchannel_logout_uri = input.backchannel_logout_uri as string;
  }
  const sessionRequired = input.backchannel_logout_session_required ?? false;
  if (typeof sessionRequired !== 'boolean') throw invalidMetadata('backchannel_logout_session_required must be a boolean');
  metadata.backchannel_logout_session_required = sessionRequired;
  return metadata;
}

/** An absolute URI without a fragment (RFC 6749 §3.1.2, Back-Channel Logout 1.0 §2.2), parsed; or why not. */
function absoluteUri(uri: string): URL | string {
  if (uri.length > MAX_URI_LENGTH) return 'too long';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'not an absolute URI';
  }
  return url.hash || uri.includes('#') ? 'must not have a fragment' : url;
}

/**
 * Back-Channel Logout 1.0 §2.2: an absolute URI without a fragment, which
 * the bridge will POST to. https, except on a loopback host while the
 * bridge itself runs on one (local development), where http is all there is.
 */
export function backchannelUriProblem(uri: string, loopbackIssuer: boolean): string | undefined {
  const url = absoluteUri(uri);
  if (typeof url === 'string') return url;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && loopbackIssuer && LOCAL_HOSTS.has(url.hostname)) return undefined;
  return loopbackIssuer ? 'must be https, or http on a loopback host' : 'must be https';
}

/**
 * RFC 7591 §2 `scope`: what the client may ask for, limited to the scopes
 * the bridge supports (an unknown one is dropped, as at the authorization
 * endpoint); omitted, every supported scope. Always echoed, so a client
 * learns what it got.
 */
function registeredScope(value: unknown): string {
  if (value === undefined) return SUPPORTED_SCOPES.join(' ');
  if (typeof value !== 'string') throw invalidMetadata('scope must be a string of space-separated scopes');
  let asked: Set<string>;
  try {
    asked = new Set(scopeTokens(value));
  } catch {
    throw invalidMetadata('scope must be a string of space-separated scopes');
  }
  const supported = SUPPORTED_SCOPES.filter((name) => asked.has(name));
  if (supported.length === 0) throw invalidMetadata('scope names no scope this provider supports');
  return supported.join(' ');
}

function isHttpsUrl(value: string): boolean {
  if (value.length > MAX_URI_LENGTH) return false;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** Why a redirect URI is refused, or undefined when it is acceptable. */
export function redirectUriProblem(uri: string, applicationType: ApplicationType): string | undefined {
  const url = absoluteUri(uri);
  if (typeof url === 'string') return url;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    // RFC 8252 §7.3 / §8.3: native apps use loopback IP literals; web apps may use any loopback host in development.
    const allowed = applicationType === 'native' ? LOOPBACK_IPS : LOCAL_HOSTS;
    return allowed.has(url.hostname) ? undefined : 'http is only allowed for loopback redirects';
  }
  if (applicationType === 'web') return 'web clients must use https';
  // RFC 8252 §7.1: private-use schemes are reverse domain names, e.g. com.example.app:/callback.
  const scheme = url.protocol.slice(0, -1);
  // A reverse domain name has a dot, so javascript:, data:, vbscript: and file: never pass.
  if (!scheme.includes('.')) return 'a private-use scheme must be a reverse domain name (RFC 8252 §7.1)';
  return undefined;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidMetadata(`${name} must be one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

function uniqueList<T extends string>(value: unknown, name: string, allowed?: readonly T[]): T[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > MAX_URIS || !value.every((item) => typeof item === 'string')) {
    throw name === 'redirect_uris'
      ? invalidRedirect('redirect_uris must be an array of at most 20 strings')
      : invalidMetadata(`${name} must be an array of at most ${MAX_URIS} strings`);
  }
  const unknown = allowed && value.find((item) => !(allowed as readonly string[]).includes(item));
  if (unknown !== undefined) throw invalidMetadata(`${name} has an unsupported value`);
  return [...new Set(value as T[])];
}
