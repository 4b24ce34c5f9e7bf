/**
 * RFC 8628 §3.1–3.2: the device authorization endpoint. The user_code is a
 * pending login id (docs/protocol.md §5), so the mini program approves it
 * through /wechat/handoff, whether a TV shows it as a code to scan or an app
 * passes it to the mini program it launches (WXLaunchMiniProgram).
 */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { randomId, sha256 } from '../crypto';
import { unauthorizedClient } from '../errors';
import { startDeviceLogin } from '../login/pending';
import { newUserCode } from '../login/user-codes';
import { PATHS } from '../paths';
import { isForeignKeyViolation, isUniqueViolation } from '../store/db';
import { insertDeviceCode } from '../store/device-codes';
import { GRANT_TYPES } from '../types';
import { clientRequest, invalidClient } from './client-auth';
import { requestedScopes } from './scopes';

export const deviceAuthorization = new Hono<AppEnv>().post('/', async (c) => {
  const context = bridge(c);
  const { db, config, now } = context;
  const { client, params } = await clientRequest(c, context);
  if (!client.metadata.grant_types.includes(GRANT_TYPES.deviceCode)) {
    throw unauthorizedClient('this client is not registered for the device_code grant');
  }
  const scopes = requestedScopes(client, params.get('scope'));

  const deviceCode = randomId(32);
  const codeHash = await sha256(deviceCode);
  const interval = config.devicePollInterval;
  const expiresAt = now + config.ttl.deviceCode;
  let userCode = '';
  for (let attempt = 1; !userCode; attempt++) {
    const candidate = newUserCode();
    try {
      await insertDeviceCode(db, { codeHash, userCode: candidate, clientId: client.clientId, scope: scopes.join(' '), interval, lastPolledAt: null, expiresAt });
      userCode = candidate;
    } catch (error) {
      // Removed a moment ago (RFC 7592 §2.3), by a request this isolate's client cache has not seen.
      if (isForeignKeyViolation(error)) throw invalidClient('the client no longer exists', config.issuer);
      // A live user code was drawn twice: draw again.
      if (attempt >= 3 || !isUniqueViolation(error)) throw error;
    }
  }
  await startDeviceLogin(c, context, userCode, client.clientId, scopes);

  const verificationUri = `${config.issuer}${PATHS.deviceVerification}`;
  return c.json({
    device_code: deviceCode,
    user_code: userCode,
    verification_uri: verificationUri,
    verification_uri_complete: `${verificationUri}?user_code=${userCode}`,
    expires_in: config.ttl.deviceCode,
    interval,
  });
});
