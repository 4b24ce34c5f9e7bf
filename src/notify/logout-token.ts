/**
 * The logout token (OpenID Connect Back-Channel Logout 1.0 §2.4): a JWT
 * signed with the key of ID tokens (RS256), `typ: logout+jwt` (§2.4, so it cannot
 * pass for an ID token), naming the user as the client sees them and, when
 * one ended, the session.
 */
import type { Config } from '../config';
import { randomId } from '../crypto';
import { subjectFor } from '../identity/pairwise';
import { signJwt } from '../tokens/jwt';
import type { KeySet } from '../tokens/keys';
import type { Client } from '../types';
import type { RelyingPartyLogout } from './outbox';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Short: a logout token is sent at once, and a new one is made for each retry. */
export const LOGOUT_TOKEN_TTL = 120;

/**
 * §2.4's claims: iss, aud, iat, exp, jti, events; `sub` always, `sid` when
 * a session ended (without one, every session of the user at the client
 * ends, §2.4); never `nonce` (§2.4: its presence would let a logout token
 * pass for an ID token).
 */
export function logoutClaims(issuer: string, clientId: string, sub: string, sid: string | undefined, now: number) {
  return {
    iss: issuer,
    aud: clientId,
    iat: now,
    exp: now + LOGOUT_TOKEN_TTL,
    jti: randomId(16),
    sub,
    ...(sid && { sid }),
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  };
}

export async function logoutToken(config: Config, keys: KeySet, client: Client, logout: RelyingPartyLogout, now: number): Promise<string> {
  const sub = await subjectFor(config.pairwiseSecret, client, logout.userId);
  return signJwt(keys.idTokens, logoutClaims(config.issuer, client.clientId, sub, logout.sid, now), 'logout+jwt');
}
