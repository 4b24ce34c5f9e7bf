/**
 * RFC 8628 §3.4–3.5: the device access token request. Each poll is one D1
 * round trip; the approval comes from /wechat/handoff; the tokens are
 * issued once, guarded like an authorization code.
 */
import type { Bridge } from '../../context';
import type { Client } from '../../store/clients';
import { pollDeviceCode } from '../../store/device-codes';
import { sha256 } from '../../tokens/crypto';
import { GRANT_TYPES } from '../client-metadata';
import { issueOnce } from './issue-once';
import { invalidGrant, invalidRequest, OAuthError, unauthorizedClient } from '../errors';
import type { Scope } from '../scopes';

export async function deviceCodeGrant(bridge: Bridge, client: Client, params: Map<string, string>) {
  if (!client.metadata.grant_types.includes(GRANT_TYPES.deviceCode)) {
    throw unauthorizedClient('this client is not registered for the device_code grant');
  }
  const deviceCode = params.get('device_code');
  if (!deviceCode) throw invalidRequest('device_code is required');
  const hash = await sha256(deviceCode);
  const found = await pollDeviceCode(bridge.db, hash, client.clientId, bridge.now);
  if (!found) throw invalidGrant('the device_code is invalid');
  const { device, approval, subject } = found;

  if (device.expiresAt <= bridge.now) throw new OAuthError('expired_token', 'the device_code has expired: start again');
  if (approval?.approved === false) throw new OAuthError('access_denied', 'the user declined in WeChat');
  if (device.lastPolledAt !== null && bridge.now - device.lastPolledAt < device.interval) {
    throw new OAuthError('slow_down', `poll at most every ${device.interval + 5} seconds`);
  }
  if (!approval || !subject) throw new OAuthError('authorization_pending', 'waiting for the user to approve in WeChat');
  return issueOnce(bridge, client, { subject, scopes: device.scope.split(' ') as Scope[], authTime: approval.authTime, amr: ['wechat'] }, `device:${hash}`, 'device_code');
}
