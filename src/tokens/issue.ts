/**
 * Issues the tokens of a grant: an RFC 9068 access token (ES256 when the key
 * set has an active ES256 key), an OpenID Connect ID token (RS256) when
 * `openid` was granted, and a refresh token when `offline_access` was. Every
 * grant type ends here.
 */
import type { SQL } from 'drizzle-orm';
import type { Config } from '../config';
import { randomId, sha256 } from '../crypto';
import { subjectFor } from '../identity/pairwise';
import type { Db } from '../store/db';
import { grantStatements } from '../store/grants';
import type { Client, Scope, Subject } from '../types';
import { acrOf } from './acr';
import { userClaims } from './claims';
import { signJwt } from './jwt';
import type { KeySet } from './keys';

/** What issuing needs of a request (src/context.ts's Bridge is one). */
export interface IssueContext {
  config: Config;
  db: Db;
  /** Seconds since the epoch, fixed for the request. */
  now: number;
  keys(): Promise<KeySet>;
}

export interface Authentication {
  subject: Subject;
  scopes: Scope[];
  /** When the person authenticated with WeChat (OpenID Connect Core §2 auth_time). */
  authTime: number;
  amr: string[];
  nonce?: string;
  /** The browser session of the login, when there was one (Back-Channel Logout 1.0 §2.1). */
  sid?: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

/** What a grant records of its login: the Authentication without the user, whom the caller names. */
export type GrantedLogin = Omit<Authentication, 'subject' | 'nonce'> & { wechat: { appid: string; openid: string } };

/**
 * A new grant's statements (its row, and its first refresh token when
 * offline_access was granted), for the caller's batch. `userId` may be SQL:
 * the user a binding in the same batch settles.
 */
export async function newGrant(context: Pick<IssueContext, 'config' | 'db' | 'now'>, client: Client, login: GrantedLogin, userId: string | SQL) {
  const { config, db, now } = context;
  const id = randomId(16);
  const refresh = login.scopes.includes('offline_access') ? await refreshTokenValue() : undefined;
  const statements = grantStatements(
    db,
    {
      id,
      clientId: client.clientId,
      userId,
      scope: login.scopes.join(' '),
      authTime: login.authTime,
      amr: login.amr.join(' '),
      wechatAppid: login.wechat.appid,
      wechatOpenid: login.wechat.openid,
      sid: login.sid ?? null,
      createdAt: now,
      expiresAt: now + config.ttl.grant,
    },
    refresh && { tokenHash: refresh.hash, expiresAt: now + config.ttl.refreshToken },
  );
  return { id, statements, ...(refresh && { refreshToken: refresh.token }) };
}

/** A fresh refresh token: the value for the client, the hash for D1. */
export async function refreshTokenValue(): Promise<{ token: string; hash: string }> {
  const token = randomId(32);
  return { token, hash: await sha256(token) };
}

/** OpenID Connect Core §2 `acr`: the door's, read from the login's `amr` (src/tokens/acr.ts). */
function acrClaim(amr: readonly string[]) {
  const acr = acrOf(amr);
  return acr === undefined ? {} : { acr };
}

export async function signTokens(context: IssueContext, client: Client, grantId: string, auth: Authentication) {
  const { config, now } = context;
  const [keys, sub] = await Promise.all([context.keys(), subjectFor(config.pairwiseSecret, client, auth.subject.id)]);
  const scope = auth.scopes.join(' ');
  const accessToken = signJwt(
    keys.accessTokens,
    {
      iss: config.issuer,
      sub,
      aud: config.issuer,
      client_id: client.clientId,
      scope,
      jti: randomId(16),
      iat: now,
      exp: now + config.ttl.accessToken,
      auth_time: auth.authTime,
      gid: grantId,
    },
    'at+jwt',
  );
  const idToken = auth.scopes.includes('openid')
    ? signJwt(
        keys.idTokens,
        {
          ...userClaims(sub, auth.subject, auth.scopes),
          iss: config.issuer,
          aud: client.clientId,
          azp: client.clientId,
          iat: now,
          exp: now + config.ttl.idToken,
          auth_time: auth.authTime,
          ...acrClaim(auth.amr),
          amr: auth.amr,
          ...(auth.nonce && { nonce: auth.nonce }),
          // Back-Channel Logout 1.0 §2.1, §2.2: a client that requires sid in logout tokens learns it here.
          ...(auth.sid && client.metadata.backchannel_logout_session_required && { sid: auth.sid }),
        },
        'JWT',
      )
    : undefined;
  return {
    access_token: await accessToken,
    token_type: 'Bearer' as const,
    expires_in: config.ttl.accessToken,
    scope,
    ...(idToken && { id_token: await idToken }),
  };
}
