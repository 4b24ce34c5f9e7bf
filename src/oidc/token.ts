/**
 * The token endpoint, RFC 6749 §3.2: authenticate the client, check what
 * every grant shares (the grant type is known and registered for this
 * client), then run the grant.
 */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { invalidRequest, OAuthError, unauthorizedClient } from '../errors';
import { GRANT_TYPES } from '../types';
import { clientRequest } from './client-auth';
import { authorizationCodeGrant } from './grants/authorization-code';
import { deviceCodeGrant } from './grants/device-code';
import { refreshTokenGrant } from './grants/refresh-token';
import { tokenExchangeGrant } from './grants/token-exchange';

const GRANTS = {
  [GRANT_TYPES.authorizationCode]: authorizationCodeGrant,
  [GRANT_TYPES.deviceCode]: deviceCodeGrant,
  [GRANT_TYPES.tokenExchange]: tokenExchangeGrant,
  [GRANT_TYPES.refreshToken]: refreshTokenGrant,
} as const;

type SupportedGrant = keyof typeof GRANTS;

const isSupported = (grantType: string): grantType is SupportedGrant => Object.hasOwn(GRANTS, grantType);

export const token = new Hono<AppEnv>().post('/', async (c) => {
  const context = bridge(c);
  const { client, params } = await clientRequest(c, context);
  const grantType = params.get('grant_type');
  if (!grantType) throw invalidRequest('grant_type is required');
  if (!isSupported(grantType)) throw new OAuthError('unsupported_grant_type', 'grant_type is not supported');
  // RFC 6749 §5.2: a client uses only the grant types it registered (RFC 7591 §2).
  if (!client.metadata.grant_types.includes(grantType)) {
    throw unauthorizedClient(`this client is not registered for the ${grantType} grant`);
  }
  // RFC 6749 §5.1; the response is not stored (the api audience's no-store).
  return c.json(await GRANTS[grantType](context, client, params));
});
