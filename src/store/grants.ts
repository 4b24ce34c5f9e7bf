/**
 * Grants and the token state hanging off them: refresh tokens (rotated, reuse
 * detected) and individually revoked access tokens. Access tokens are JWTs;
 * what can still revoke them is their grant's `revoked_at` and the
 * revoked_access_tokens list, read together with the user in one query.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from './db';
import { grants, refreshTokens, revokedAccessTokens, users, wechatIdentities } from './schema';

export type GrantRow = typeof grants.$inferSelect;
export type NewGrant = typeof grants.$inferInsert;

export interface NewRefreshToken {
  tokenHash: string;
  expiresAt: number;
}

/**
 * Writes a grant and its first refresh token in one batch (a transaction),
 * after `guards`: statements that must succeed for the grant to exist,
 * such as the single use of the code it comes from.
 */
export async function insertGrant(db: Db, grant: NewGrant, refresh?: NewRefreshToken, guards: BatchItem<'sqlite'>[] = []): Promise<void> {
  const statements: BatchItem<'sqlite'>[] = [...guards, db.insert(grants).values(grant)];
  if (refresh) statements.push(db.insert(refreshTokens).values({ ...refresh, grantId: grant.id, createdAt: grant.createdAt }));
  await db.batch(statements as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
}

const subjectColumns = {
  userId: users.id,
  phoneNumber: users.phoneNumber,
  nickname: users.nickname,
  picture: users.picture,
  unionid: wechatIdentities.unionid,
};

const identityOfGrant = and(eq(wechatIdentities.appid, grants.wechatAppid), eq(wechatIdentities.openid, grants.wechatOpenid));

export type GrantWithSubject = { grant: GrantRow } & {
  userId: string;
  phoneNumber: string | null;
  nickname: string | null;
  picture: string | null;
  unionid: string | null;
};

/** What a bearer access token stands for, and whether the token itself was revoked: one query. */
export async function findAccessTokenGrant(
  db: Db,
  grantId: string,
  jti: string,
): Promise<(GrantWithSubject & { tokenRevoked: boolean }) | undefined> {
  const row = await db
    .select({
      grant: grants,
      ...subjectColumns,
      tokenRevoked: sql<number>`EXISTS (SELECT 1 FROM ${revokedAccessTokens} WHERE ${revokedAccessTokens.jti} = ${jti})`,
    })
    .from(grants)
    .innerJoin(users, eq(users.id, grants.userId))
    .leftJoin(wechatIdentities, identityOfGrant)
    .where(eq(grants.id, grantId))
    .get();
  return row && { ...row, tokenRevoked: row.tokenRevoked === 1 };
}

export interface RefreshTokenState extends GrantWithSubject {
  token: typeof refreshTokens.$inferSelect;
}

export async function findRefreshToken(db: Db, tokenHash: string): Promise<RefreshTokenState | undefined> {
  return db
    .select({ token: refreshTokens, grant: grants, ...subjectColumns })
    .from(refreshTokens)
    .innerJoin(grants, eq(grants.id, refreshTokens.grantId))
    .innerJoin(users, eq(users.id, grants.userId))
    .leftJoin(wechatIdentities, identityOfGrant)
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .get();
}

/**
 * Marks `oldHash` used and stores its successor, atomically: the successor
 * is only written if this call is the one that marked the old token used.
 * False means another request rotated it first, so this is a reuse.
 */
export async function rotateRefreshToken(db: Db, oldHash: string, next: NewRefreshToken & { grantId: string }, now: number): Promise<boolean> {
  const d1 = db.$client;
  const [marked] = await d1.batch([
    d1
      .prepare('UPDATE refresh_tokens SET used_at = ?1, replaced_by = ?2 WHERE token_hash = ?3 AND used_at IS NULL')
      .bind(now, next.tokenHash, oldHash),
    d1
      .prepare(
        `INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at)
         SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM refresh_tokens WHERE token_hash = ?5 AND replaced_by = ?1)`,
      )
      .bind(next.tokenHash, next.grantId, now, next.expiresAt, oldHash),
  ]);
  return marked!.meta.changes === 1;
}

export async function revokeGrant(db: Db, grantId: string, now: number): Promise<void> {
  await db
    .update(grants)
    .set({ revokedAt: now })
    .where(and(eq(grants.id, grantId), isNull(grants.revokedAt)));
}

export async function revokeAccessToken(db: Db, jti: string, expiresAt: number): Promise<void> {
  await db.insert(revokedAccessTokens).values({ jti, expiresAt }).onConflictDoNothing();
}
