/**
 * RFC 8628 §3.1–3.2: the device authorization endpoint. The user_code is a
 * pending login id (SPEC.md §5), so the mini program approves it through
 * /wechat/handoff, whether a TV shows it as a code to scan or an app passes
 * it to the mini program it launches (WXLaunchMiniProgram).
 */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { isUniqueViolation } from '../store/db';
import { insertDeviceCode } from '../store/device-codes';
import { putPendingLogin } from '../store/pending';
import { randomId, sha256 } from '../tokens/crypto';
import { clientRequest } from './client-auth';
import { GRANT_TYPES } from './client-metadata';
import { PATHS } from './discovery';
import { OAuthError, unauthorizedClient } from './errors';
import { grantScopes, isValidScopeString } from './scopes';

export const DEVICE_CODE_TTL = 600;
export const DEVICE_POLL_INTERVAL = 5;

/** RFC 8628 §6.1: consonants only (no vowels, so no words), no look-alikes. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

export function newUserCode(): string {
  // 20 letters; rejection sampling keeps each one equally likely.
  const letters: string[] = [];
  while (letters.length < 8) {
    for (const byte of crypto.getRandomValues(new Uint8Array(16))) {
      if (byte < 240 && letters.length < 8) letters.push(USER_CODE_ALPHABET[byte % 20]!);
    }
  }
  return `${letters.slice(0, 4).join('')}-${letters.slice(4).join('')}`;
}

/** What a user may type: any case, with or without the dash. */
export function normalizeUserCode(input: string): string | undefined {
  const letters = input.toUpperCase().replace(/[^A-Z]/g, '');
  if (letters.length !== 8 || [...letters].some((letter) => !USER_CODE_ALPHABET.includes(letter))) return undefined;
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

export const deviceAuthorization = new Hono<AppEnv>().post('/', async (c) => {
  const context = bridge(c);
  const { db, env, config, now } = context;
  const { client, params } = await clientRequest(c, context);
  if (!client.metadata.grant_types.includes(GRANT_TYPES.deviceCode)) {
    throw unauthorizedClient('this client is not registered for the device_code grant');
  }
  const scope = params.get('scope');
  if (scope !== undefined && !isValidScopeString(scope)) throw new OAuthError('invalid_scope', 'malformed scope');
  const scopes = grantScopes(scope, { refreshAllowed: client.metadata.grant_types.includes(GRANT_TYPES.refreshToken) });
  if (scopes.length === 0) throw new OAuthError('invalid_scope', 'no supported scope was requested');

  const deviceCode = randomId(32);
  const codeHash = await sha256(deviceCode);
  const expiresAt = now + DEVICE_CODE_TTL;
  let userCode = '';
  for (let attempt = 1; !userCode; attempt++) {
    const candidate = newUserCode();
    try {
      await insertDeviceCode(db, { codeHash, userCode: candidate, clientId: client.clientId, scope: scopes.join(' '), interval: DEVICE_POLL_INTERVAL, lastPolledAt: null, expiresAt });
      userCode = candidate;
    } catch (error) {
      // A live user code was drawn twice: draw again.
      if (attempt >= 3 || !isUniqueViolation(error)) throw error;
    }
  }
  await putPendingLogin(env.KV, { id: userCode, clientId: client.clientId, scopes, expiresAt }, now);

  c.header('Cache-Control', 'no-store');
  return c.json({
    device_code: deviceCode,
    user_code: userCode,
    verification_uri: `${config.issuer}${PATHS.deviceVerification}`,
    verification_uri_complete: `${config.issuer}${PATHS.deviceVerification}?user_code=${userCode}`,
    expires_in: DEVICE_CODE_TTL,
    interval: DEVICE_POLL_INTERVAL,
  });
});
