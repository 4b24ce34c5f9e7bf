/**
 * RFC 8628 §3.4–3.5: the device access token request. Each poll is one D1
 * round trip; the approval comes from /wechat/handoff; the tokens are
 * issued once, guarded like an authorization code.
 */
import type { Bridge } from '../../context';
import { sha256 } from '../../crypto';
import { invalidGrant, invalidRequest, OAuthError } from '../../errors';
import { pollDeviceCode, pollTooSoon, SLOW_DOWN_STEP } from '../../store/device-codes';
import { announceLogin, doorOf, loginAudit } from '../../login/life-cycle';
import { amrOf } from '../../tokens/acr';
import { issueOnce } from '../../tokens/issue-once';
import type { Client, Scope } from '../../types';

export async function deviceCodeGrant(bridge: Bridge, client: Client, params: Map<string, string>) {
  const deviceCode = params.get('device_code');
  if (!deviceCode) throw invalidRequest('device_code is required');
  const hash = await sha256(deviceCode);
  const found = await pollDeviceCode(bridge.db, hash, client.clientId, bridge.now);
  if (!found) throw invalidGrant('the device_code is invalid');
  const { device, approval, subject } = found;

  if (device.expiresAt <= bridge.now) throw new OAuthError('expired_token', 'the device_code has expired: start again');
  if (approval?.approved === false) throw new OAuthError('access_denied', 'the user declined in WeChat');
  // The poll already widened the stored interval by the step: say what it is now.
  if (pollTooSoon(device, bridge.now)) throw new OAuthError('slow_down', `poll at most every ${device.interval + SLOW_DOWN_STEP} seconds`);
  if (!approval || !subject) throw new OAuthError('authorization_pending', 'waiting for the user to approve in WeChat');
  const scopes = device.scope.split(' ') as Scope[];
  const facts = { userId: subject.id, clientId: client.clientId, appid: subject.wechat.appid, door: doorOf(bridge.config, subject.wechat.appid) };
  // The device's login was approved in the mini program, on the person's phone.
  const auth = { subject, scopes, authTime: approval.authTime, amr: amrOf('miniprogram_approval') };
  const tokens = await issueOnce(bridge, client, auth, `device:${hash}`, 'device_code', [loginAudit(bridge, facts)]);
  announceLogin(bridge, facts);
  return tokens;
}
