/** OpenID Connect Discovery 1.0 §3 and the JWKS (RFC 7517), both cacheable. */
import { Hono } from 'hono';
import type { Config } from '../config';
import { bridge, type AppEnv } from '../context';
import { PATHS } from '../paths';
import { ACR_VALUES_SUPPORTED } from '../tokens/acr';
import { ID_TOKEN_ALG } from '../tokens/keys';
import { SUPPORTED_SCOPES } from '../types';
import { SUPPORTED_AUTH_METHODS, SUPPORTED_GRANT_TYPES } from './client-metadata';
import { SUPPORTED_CLAIMS } from './scopes';

export function discoveryDocument(config: Config) {
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
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: SUPPORTED_GRANT_TYPES,
    subject_types_supported: ['public', 'pairwise'],
    // Access tokens may be ES256 (src/tokens/keys.ts); their keys are in the JWKS, and Discovery has no field for them.
    id_token_signing_alg_values_supported: [ID_TOKEN_ALG],
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    code_challenge_methods_supported: ['S256'],
    claims_supported: SUPPORTED_CLAIMS,
    // OpenID Connect Core §5.5: the claims parameter, for id_token.acr (src/oidc/acr-request.ts).
    claims_parameter_supported: true,
    acr_values_supported: ACR_VALUES_SUPPORTED,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens carry sid, and ID tokens do for clients that require it.
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    ui_locales_supported: ['zh-CN', 'en'],
  };
}

/** The document of the settled config it was made from (never a pending promise). */
let cachedDocument: { config: Config; json: string } | undefined;

const CACHEABLE = 'public, max-age=300';

export const discovery = new Hono<AppEnv>().get('/', async (c) => {
  const { config, keys } = bridge(c);
  // The document names no key, but a bad key set fails here as loudly as everywhere else.
  await keys();
  if (cachedDocument?.config !== config) cachedDocument = { config, json: JSON.stringify(discoveryDocument(config)) };
  return c.body(cachedDocument.json, 200, { 'Content-Type': 'application/json', 'Cache-Control': CACHEABLE });
});

export const jwks = new Hono<AppEnv>().get('/', async (c) => {
  const keySet = await bridge(c).keys();
  return c.body(keySet.jwksJson, 200, { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': CACHEABLE });
});
