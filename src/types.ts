/**
 * The vocabulary every layer shares: scopes and the claims they release,
 * grant types, client metadata, and who a token speaks for. Types and
 * constants only; the rules that use them live with their endpoints.
 */

/** Scopes and the user claims each releases (docs/protocol.md §7, OpenID Connect Core §5.4). */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'nickname', 'picture'],
  phone: ['phone_number', 'phone_number_verified'],
  wechat: ['wechat_appid', 'wechat_openid', 'wechat_unionid'],
  offline_access: [],
} as const satisfies Record<string, readonly string[]>;

export type Scope = keyof typeof SCOPE_CLAIMS;

export const SUPPORTED_SCOPES = Object.keys(SCOPE_CLAIMS) as Scope[];

export const GRANT_TYPES = {
  authorizationCode: 'authorization_code',
  refreshToken: 'refresh_token',
  tokenExchange: 'urn:ietf:params:oauth:grant-type:token-exchange',
  deviceCode: 'urn:ietf:params:oauth:grant-type:device_code',
} as const;

/**
 * What an authorization request asked of the authentication context: the
 * `claims` parameter's `id_token.acr` (OpenID Connect Core §5.5.1.1) and
 * `acr_values` (§3.1.2.1).
 */
export interface AcrRequest {
  /** An essential `acr`: one of these values (empty: any), or the login fails with unmet_authentication_requirements. */
  essential?: string[];
  /** Voluntary `acr` values, most wanted first: which door the login page puts first. */
  preferred?: string[];
}

/** How the authorization response travels (OAuth 2.0 Multiple Response Types §2.1, OAuth 2.0 Form Post Response Mode §2). */
export type ResponseMode = 'query' | 'form_post';

export type GrantType = (typeof GRANT_TYPES)[keyof typeof GRANT_TYPES];
export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
export type ApplicationType = 'web' | 'native';

/** Registered client metadata (RFC 7591 §2), as stored and as the registration endpoint answers it. */
export interface ClientMetadata {
  redirect_uris: string[];
  token_endpoint_auth_method: AuthMethod;
  grant_types: GrantType[];
  response_types: 'code'[];
  application_type: ApplicationType;
  client_name?: string;
  /** RFC 7591 §2: the scopes the client may ask for, space-separated; absent (clients registered before it): all. */
  scope?: string;
  /** Shown where the person approves; https only, and never fetched by the bridge. */
  client_uri?: string;
  logo_uri?: string;
  post_logout_redirect_uris: string[];
  /** The WeChat apps whose codes this client may exchange; absent: all of them. */
  wechat_appids?: string[];
  /** OpenID Connect Core §8: `public` (absent) or `pairwise` (src/identity/pairwise.ts). */
  subject_type?: 'public' | 'pairwise';
  /** OpenID Connect Back-Channel Logout 1.0 §2.2: where the client hears of logouts. */
  backchannel_logout_uri?: string;
  /** Whether the client's logout tokens must carry `sid` (and its ID tokens carry it). */
  backchannel_logout_session_required?: boolean;
}

export interface Client {
  clientId: string;
  secretHash: string | null;
  metadata: ClientMetadata;
  issuedAt: number;
}

/** Who a token speaks for: the user, and the WeChat identity they logged in with. */
export interface Subject {
  id: string;
  phoneNumber: string | null;
  nickname: string | null;
  picture: string | null;
  wechat: { appid: string; openid: string; unionid: string | null };
}
