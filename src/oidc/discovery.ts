/** OpenID Connect Discovery 1.0 §3 and the JWKS (RFC 7517), both cacheable. */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import type { Config } from '../config';
import type { KeySet } from '../tokens/keys';
import { SUPPORTED_AUTH_METHODS, SUPPORTED_GRANT_TYPES } from './client-metadata';
import { SUPPORTED_CLAIMS, SUPPORTED_SCOPES } from './scopes';

/** Endpoint paths, relative to the issuer. */
export const PATHS = {
  authorization: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  jwks: '/jwks',
  registration: '/register',
  revocation: '/revoke',
  introspection: '/introspect',
  deviceAuthorization: '/device_authorization',
  endSession: '/logout',
  /** Not in discovery: the pages of a pending login, the mini program's handoff, RFC 8628's verification_uri, the sandbox. */
  login: '/login',
  handoff: '/wechat/handoff',
  deviceVerification: '/device',
  sandbox: '/sandbox/wechat',
} as const;

/** The page of a pending login, and the path its cookie is scoped to. */
export const loginPath = (id: string) => `${PATHS.login}/${id}`;

export function discoveryDocument(config: Config, keys: KeySet) {
  const url = (path: string) => `${config.issuer}${path}`;
  const authMethods = [...SUPPORTED_AUTH_METHODS];
  return {
    issuer: config.issuer,
    authorization_endpoint: url(PATHS.authorization),
    token_endpoint: url(PATHS.token),
    userinfo_endpoint: url(PATHS.userinfo),
    jwks_uri: url(PATHS.jwks),
    registration_endpoint: url(PATHS.registration),
    revocation_endpoint: url(PATHS.revocation),
    introspection_endpoint: url(PATHS.introspection),
    device_authorization_endpoint: url(PATHS.deviceAuthorization),
    end_session_endpoint: url(PATHS.endSession),
    scopes_supported: SUPPORTED_SCOPES,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: SUPPORTED_GRANT_TYPES,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(keys.all.map((key) => key.alg))],
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    code_challenge_methods_supported: ['S256'],
    claims_supported: SUPPORTED_CLAIMS,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    ui_locales_supported: ['zh-CN', 'en'],
  };
}

let cachedDocument: { config: Config; keys: KeySet; json: string } | undefined;

const CACHEABLE = 'public, max-age=300';

export const discovery = new Hono<AppEnv>()
  .get('/.well-known/openid-configuration', async (c) => {
    const { config, keys } = bridge(c);
    const keySet = await keys();
    if (cachedDocument?.config !== config || cachedDocument.keys !== keySet) {
      cachedDocument = { config, keys: keySet, json: JSON.stringify(discoveryDocument(config, keySet)) };
    }
    return c.body(cachedDocument.json, 200, { 'Content-Type': 'application/json', 'Cache-Control': CACHEABLE });
  })
  .get(PATHS.jwks, async (c) => {
    const keySet = await bridge(c).keys();
    return c.body(keySet.jwksJson, 200, { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': CACHEABLE });
  });
