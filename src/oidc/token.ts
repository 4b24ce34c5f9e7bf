/** The token endpoint, RFC 6749 §3.2: authenticate the client, then run its grant. */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { clientRequest } from './client-auth';
import { GRANT_TYPES } from './client-metadata';
import { invalidRequest, OAuthError } from './errors';
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

export const token = new Hono<AppEnv>().post('/', async (c) => {
  const context = bridge(c);
  const { client, params } = await clientRequest(c, context);
  const grantType = params.get('grant_type');
  if (!grantType) throw invalidRequest('grant_type is required');
  const grant = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType as keyof typeof GRANTS] : undefined;
  if (!grant) throw new OAuthError('unsupported_grant_type', `unsupported grant_type ${grantType}`);
  const body = await grant(context, client, params);
  // RFC 6749 §5.1
  c.header('Cache-Control', 'no-store');
  c.header('Pragma', 'no-cache');
  return c.json(body);
});
