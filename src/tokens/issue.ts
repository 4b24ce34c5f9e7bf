/**
 * Issues the tokens of a grant: an RFC 9068 access token, an OpenID Connect
 * ID token when `openid` was granted, and a refresh token when
 * `offline_access` was. Every grant type ends here.
 */
import type { BatchItem } from 'drizzle-orm/batch';
import type { Config } from '../config';
import { randomId, sha256 } from '../crypto';
import { subjectFor } from '../identity/pairwise';
import type { Db } from '../store/db';
import { insertGrant } from '../store/grants';
import type { Client, Scope, Subject } from '../types';
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

/**
 * A new grant: its row (and first refresh token) in one write, then its
 * tokens. `guards(grantId)` are written in the same transaction first.
 */
export async function issueForNewGrant(
  context: IssueContext,
  client: Client,
  auth: Authentication,
  guards: (grantId: string) => BatchItem<'sqlite'>[] = () => [],
): Promise<TokenResponse> {
  const { config, db, now } = context;
  const grantId = randomId(16);
  const refresh = auth.scopes.includes('offline_access') ? await refreshTokenValue() : undefined;
  const signed = signTokens(context, client, grantId, auth);
  await insertGrant(
    db,
    {
      id: grantId,
      clientId: client.clientId,
      userId: auth.subject.id,
      scope: auth.scopes.join(' '),
      authTime: auth.authTime,
      amr: auth.amr.join(' '),
      wechatAppid: auth.subject.wechat.appid,
      wechatOpenid: auth.subject.wechat.openid,
      sid: auth.sid ?? null,
      createdAt: now,
      expiresAt: now + config.ttl.grant,
    },
    refresh && { tokenHash: refresh.hash, expiresAt: now + config.ttl.refreshToken },
    guards(grantId),
  );
  return { ...(await signed), ...(refresh && { refresh_token: refresh.token }) };
}

/** A fresh refresh token: the value for the client, the hash for D1. */
export async function refreshTokenValue(): Promise<{ token: string; hash: string }> {
  const token = randomId(32);
  return { token, hash: await sha256(token) };
}

export async function signTokens(context: IssueContext, client: Client, grantId: string, auth: Authentication) {
  const { config, now } = context;
  const [keys, sub] = await Promise.all([context.keys(), subjectFor(config.pairwiseSecret, client, auth.subject.id)]);
  const scope = auth.scopes.join(' ');
  const accessToken = signJwt(
    keys,
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
        keys,
        {
          ...userClaims(sub, auth.subject, auth.scopes),
          iss: config.issuer,
          aud: client.clientId,
          azp: client.clientId,
          iat: now,
          exp: now + config.ttl.idToken,
          auth_time: auth.authTime,
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
