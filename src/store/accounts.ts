/**
 * A person's account as a whole (docs/protocol.md "Leaving"): who a WeChat
 * account is, what they approved, and the writes that revoke or delete it
 * all. Each write is one D1 batch (one transaction), its audit entry in it;
 * every query is on an index.
 */
import { and, desc, eq, gt, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { ClientMetadata } from '../types';
import type { WeChatIdentity } from '../wechat';
import type { AuditActor } from './audit';
import type { Db } from './db';
import { auditLog, authorizationCodes, clients, grants, loginApprovals, refreshTokens, sessions, users, wechatIdentities, wechatUnionids } from './schema';

/** A relying party that had a live grant of the user: whom a back-channel logout goes to, with the grant's session when it had one. */
export interface GrantHolder {
  clientId: string;
  sid: string | null;
}

/** The user an account endpoint's WeChat login names: by its (appid, openid), else by its unionid. Never by a phone number. */
export async function userOfWeChat(db: Db, login: Pick<WeChatIdentity, 'appid' | 'openid' | 'unionid'>): Promise<string | undefined> {
  const [byOpenid, byUnionid] = await db.batch([
    db
      .select({ userId: wechatIdentities.userId })
      .from(wechatIdentities)
      .where(and(eq(wechatIdentities.appid, login.appid), eq(wechatIdentities.openid, login.openid))),
    db.select({ userId: wechatUnionids.userId }).from(wechatUnionids).where(eq(wechatUnionids.unionid, login.unionid ?? '\u0000')),
  ]);
  return byOpenid[0]?.userId ?? byUnionid[0]?.userId;
}

/** The user's live grants, with their clients. */
export async function liveGrants(db: Db, userId: string, now: number) {
  return db
    .select({ clientId: grants.clientId, scope: grants.scope, authTime: grants.authTime, metadata: clients.metadata })
    .from(grants)
    .innerJoin(clients, eq(clients.clientId, grants.clientId))
    .where(and(eq(grants.userId, userId), isNull(grants.revokedAt), gt(grants.expiresAt, now)))
    .then((rows) => rows.map((row) => ({ ...row, metadata: row.metadata as ClientMetadata })));
}

/** The relying parties of the user's live grants, each (client, session) once. */
const grantHolders = (db: Db, where: SQL, now: number) =>
  db
    .selectDistinct({ clientId: grants.clientId, sid: grants.sid })
    .from(grants)
    .where(and(where, isNull(grants.revokedAt), gt(grants.expiresAt, now)));

const audited = (db: Db, userId: string, at: number, event: string, actor: AuditActor, clientId: string | null, detail: SQL) =>
  // Written only when the user exists, so that a request for nobody records nothing.
  db.insert(auditLog).select(
    sql`SELECT NULL, ${at}, ${event}, ${actor}, ${userId}, ${clientId}, ${detail} WHERE EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId})`,
  );

export interface Deletion {
  /** False when there was no such user (and nothing was written). */
  deleted: boolean;
  holders: GrantHolder[];
}

/**
 * Deletes a user and everything that names them, in one batch: their
 * answers to logins become refusals without a name (a browser or device
 * still waiting gets access_denied), then their refresh tokens, grants,
 * sessions, unredeemed codes, WeChat identities and unionids, and the user row. Access tokens
 * die with their grant. The audit entry keeps only the opaque `sub`. First,
 * the relying parties of the live grants; last, the user row (0 changes: nobody).
 */
export const deletionStatements = (db: Db, userId: string, actor: AuditActor, now: number) =>
  [
    grantHolders(db, eq(grants.userId, userId), now),
    audited(db, userId, now, 'user.deleted', actor, null, sql`json_object('grants', (SELECT count(*) FROM ${grants} WHERE ${grants.userId} = ${userId}))`),
    db
      .update(loginApprovals)
      .set({ approved: false, userId: null, wechatAppid: null, wechatOpenid: null })
      .where(inArray(loginApprovals.wechatOpenid, db.select({ openid: wechatIdentities.openid }).from(wechatIdentities).where(eq(wechatIdentities.userId, userId)))),
    db.delete(refreshTokens).where(inArray(refreshTokens.grantId, db.select({ id: grants.id }).from(grants).where(eq(grants.userId, userId)))),
    db.delete(grants).where(eq(grants.userId, userId)),
    db.delete(sessions).where(eq(sessions.userId, userId)),
    db.delete(authorizationCodes).where(eq(authorizationCodes.userId, userId)),
    db.delete(wechatIdentities).where(eq(wechatIdentities.userId, userId)),
    db.delete(wechatUnionids).where(eq(wechatUnionids.userId, userId)),
    db.delete(users).where(eq(users.id, userId)),
  ] as const;

/** `deletionStatements` as one transaction; the relying parties to log out. */
export async function deleteUser(db: Db, userId: string, actor: AuditActor, now: number): Promise<Deletion> {
  const [holders, , , , , , , , , removed] = await db.batch(deletionStatements(db, userId, actor, now));
  return { deleted: removed.meta.changes === 1, holders };
}

export interface Revocation {
  found: boolean;
  grants: number;
  sessions: number;
  holders: GrantHolder[];
}

/** Revokes every grant of a user and ends every session, in one batch (the admin API's revoke). */
export async function revokeUser(db: Db, userId: string, now: number): Promise<Revocation> {
  const live = and(eq(grants.userId, userId), isNull(grants.revokedAt));
  const [user, holders, , revoked, ended] = await db.batch([
    db.select({ id: users.id }).from(users).where(eq(users.id, userId)),
    grantHolders(db, eq(grants.userId, userId), now),
    audited(
      db,
      userId,
      now,
      'user.revoked',
      'admin',
      null,
      sql`json_object('grants', (SELECT count(*) FROM ${grants} WHERE ${live}), 'sessions', (SELECT count(*) FROM ${sessions} WHERE ${sessions.userId} = ${userId}))`,
    ),
    db.update(grants).set({ revokedAt: now }).where(live),
    db.delete(sessions).where(eq(sessions.userId, userId)),
  ]);
  return { found: user.length === 1, grants: revoked.meta.changes, sessions: ended.meta.changes, holders };
}

/**
 * The person withdraws one client: its grants are revoked, and it leaves the
 * consents of their sessions, so that no session answers it silently again.
 */
export async function revokeClientOfUser(db: Db, userId: string, clientId: string, now: number): Promise<{ grants: number; holders: GrantHolder[] }> {
  const live = and(eq(grants.userId, userId), eq(grants.clientId, clientId), isNull(grants.revokedAt));
  const [holders, , revoked] = await db.batch([
    grantHolders(db, and(eq(grants.userId, userId), eq(grants.clientId, clientId))!, now),
    audited(db, userId, now, 'client.revoked', 'user', clientId, sql`json_object('grants', (SELECT count(*) FROM ${grants} WHERE ${live}))`),
    db.update(grants).set({ revokedAt: now }).where(live),
    db
      .update(sessions)
      .set({ consents: sql`json_remove(${sessions.consents}, ${consentPath(clientId)})` })
      .where(eq(sessions.userId, userId)),
  ]);
  return { grants: revoked.meta.changes, holders };
}

/** The JSON path of a client's member in a session's consents; the caller passes only ids that need no escaping (`isPlainClientId`). */
const consentPath = (clientId: string) => `$."${clientId}"`;

/** A client_id as registration makes them (base64url): safe inside a JSON path. */
export const isPlainClientId = (clientId: string) => /^[A-Za-z0-9_-]{1,128}$/.test(clientId);

/** How the admin API names a user: exactly one of these. */
export type UserKey =
  | { sub: string }
  | { phone: string }
  | { unionid: string }
  /** An openid is per WeChat app; without the app, any app's. */
  | { openid: string; appid?: string };

const userIdOf = (db: Db, key: UserKey): SQL => {
  if ('sub' in key) return sql`${key.sub}`;
  if ('phone' in key) return sql`(${db.select({ id: users.id }).from(users).where(eq(users.phoneNumber, key.phone))})`;
  if ('unionid' in key) return sql`(${db.select({ id: wechatUnionids.userId }).from(wechatUnionids).where(eq(wechatUnionids.unionid, key.unionid))})`;
  const byOpenid = eq(wechatIdentities.openid, key.openid);
  const where = key.appid === undefined ? byOpenid : and(eq(wechatIdentities.appid, key.appid), byOpenid);
  return sql`(${db.select({ id: wechatIdentities.userId }).from(wechatIdentities).where(where).limit(1)})`;
};

/** A user, their WeChat identities and every grant with its client, for the admin API: one round trip. */
export async function findUserRecord(db: Db, key: UserKey) {
  const userId = userIdOf(db, key);
  const [found, identities, userGrants] = await db.batch([
    db
      .select({ id: users.id, phoneNumber: users.phoneNumber, nickname: users.nickname, createdAt: users.createdAt })
      .from(users)
      .where(sql`${users.id} = ${userId}`),
    db
      .select({ appid: wechatIdentities.appid, openid: wechatIdentities.openid, unionid: wechatIdentities.unionid, createdAt: wechatIdentities.createdAt })
      .from(wechatIdentities)
      .where(sql`${wechatIdentities.userId} = ${userId}`)
      .orderBy(wechatIdentities.createdAt),
    db
      .select({
        clientId: grants.clientId,
        metadata: clients.metadata,
        scope: grants.scope,
        createdAt: sql<number>`${grants.createdAt}`.as('grant_created_at'),
        expiresAt: grants.expiresAt,
        revokedAt: grants.revokedAt,
      })
      .from(grants)
      .innerJoin(clients, eq(clients.clientId, grants.clientId))
      .where(sql`${grants.userId} = ${userId}`)
      .orderBy(desc(grants.createdAt)),
  ]);
  const user = found[0];
  if (!user) return undefined;
  return { user, identities, grants: userGrants.map((grant) => ({ ...grant, metadata: grant.metadata as ClientMetadata })) };
}
