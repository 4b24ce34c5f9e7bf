/**
 * RFC 8628 §3.4–3.5: the device access token request. Each poll is one D1
 * round trip, the one that issues too: the approval comes from
 * /wechat/handoff, and the poll's batch claims the code, makes the grant and
 * its refresh token and writes the audit entry, guarded like an
 * authorization code's redemption (src/store/device-codes.ts).
 */
import type { Bridge } from '../../context';
import { randomId, sha256 } from '../../crypto';
import { invalidGrant, invalidRequest, OAuthError } from '../../errors';
import { announceLogin, doorOf, doorOfColumn } from '../../login/life-cycle';
import { deviceUseKey, pollDeviceCode, pollTooSoon, SLOW_DOWN_STEP } from '../../store/device-codes';
import { refreshTokenValue, signTokens } from '../../tokens/issue';
import { refuseFailedClaim } from '../../tokens/issue-once';
import { amrOf } from '../../tokens/acr';
import type { Client, Scope } from '../../types';

export async function deviceCodeGrant(bridge: Bridge, client: Client, params: Map<string, string>) {
  const deviceCode = params.get('device_code');
  if (!deviceCode) throw invalidRequest('device_code is required');
  const { config, db, now } = bridge;
  const [hash, refresh] = await Promise.all([sha256(deviceCode), refreshTokenValue()]);
  const grantId = randomId(16);
  const issue = {
    grantId,
    grantExpiresAt: now + config.ttl.grant,
    amr: AMR.join(' '),
    refresh: { tokenHash: refresh.hash, expiresAt: now + config.ttl.refreshToken },
    doorOf: doorOfColumn(config),
  };
  let found: Awaited<ReturnType<typeof pollDeviceCode>>;
  try {
    found = await pollDeviceCode(db, hash, client.clientId, now, issue);
  } catch (error) {
    return refuseFailedClaim(bridge, error, deviceUseKey(hash), 'device_code');
  }
  if (!found) throw invalidGrant('the device_code is invalid');
  const { device, approval, subject, issued } = found;

  if (device.expiresAt <= now) throw new OAuthError('expired_token', 'the device_code has expired: start again');
  if (approval?.approved === false) throw new OAuthError('access_denied', 'the user declined in WeChat');
  // The poll already widened the stored interval by the step: say what it is now.
  if (pollTooSoon(device, now)) throw new OAuthError('slow_down', `poll at most every ${device.interval + SLOW_DOWN_STEP} seconds`);
  if (!issued || !approval || !subject) throw new OAuthError('authorization_pending', 'waiting for the user to approve in WeChat');

  const scopes = device.scope.split(' ') as Scope[];
  const tokens = await signTokens(bridge, client, grantId, { subject, scopes, authTime: approval.authTime, amr: AMR });
  announceLogin(bridge, { userId: subject.id, clientId: client.clientId, appid: subject.wechat.appid, door: doorOf(config, subject.wechat.appid) });
  return { ...tokens, ...(scopes.includes('offline_access') && { refresh_token: refresh.token }) };
}

/** A device's login is approved in the mini program, on the person's phone. */
const AMR = amrOf('miniprogram_approval');
