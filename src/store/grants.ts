/**
 * Grants and the token state hanging off them: refresh tokens (rotated, reuse
 * detected) and individually revoked access tokens. Access tokens are JWTs;
 * what can still revoke them is their grant's `revoked_at` and the
 * revoked_access_tokens list, read together with the user in one query.
 */
import { and, eq, gt, isNull, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Subject } from '../types';
import { forAll, preparedOnce, type Db } from './db';
import { grants, refreshTokens, revokedAccessTokens, users, wechatIdentities } from './schema';
import { identityNamedBy, subjectColumns, toSubject } from './subjects';

export type GrantRow = typeof grants.$inferSelect;
export type NewGrant = typeof grants.$inferInsert;

export interface NewRefreshToken {
  tokenHash: string;
  expiresAt: number;
}

/**
 * The statements of a grant and its first refresh token, for a batch (a
 * transaction) after what must succeed for the grant to exist, such as the
 * single use of the code it comes from. `userId` may be SQL: the user a
 * binding in the same batch settles (src/store/identities.ts).
 */
export function grantStatements(db: Db, grant: Omit<NewGrant, 'userId'> & { userId: string | SQL }, refresh?: NewRefreshToken): BatchItem<'sqlite'>[] {
  const statements: BatchItem<'sqlite'>[] = [db.insert(grants).values(grant)];
  if (refresh) statements.push(db.insert(refreshTokens).values({ ...refresh, grantId: grant.id, createdAt: grant.createdAt }));
  return statements;
}

/**
 * The refresh token of a grant that an earlier statement of the same batch
 * may have made (`INSERT … SELECT`): written only if the grant exists and
 * was granted offline_access.
 */
export const refreshTokenOfGrant = (
  db: Db,
  grantId: string | Placeholder,
  refresh: { tokenHash: string | Placeholder; expiresAt: number | Placeholder },
  now: number | Placeholder,
) =>
  db.insert(refreshTokens).select((qb) =>
    qb
      .select({
        tokenHash: sql`${refresh.tokenHash}`.as('token_hash'),
        grantId: grants.id,
        createdAt: sql`${now}`.as('created_at'),
        expiresAt: sql`${refresh.expiresAt}`.as('expires_at'),
        usedAt: sql`NULL`.as('used_at'),
        replacedBy: sql`NULL`.as('replaced_by'),
      })
      .from(grants)
      .where(and(eq(grants.id, grantId), sql`instr(' ' || ${grants.scope} || ' ', ' offline_access ') > 0`)),
  );

const identityOfGrant = identityNamedBy(grants.wechatAppid, grants.wechatOpenid);

/**
 * What a bearer access token stands for, and whether its grant or the token
 * itself was revoked: one query, the hottest of all (userinfo,
 * introspection), so built once per database and then only bound.
 */
const accessTokenGrantQuery = preparedOnce((db) =>
  db
    .select({
      ...subjectColumns,
      wechatAppid: grants.wechatAppid,
      wechatOpenid: grants.wechatOpenid,
      revoked: sql<number>`${grants.revokedAt} IS NOT NULL OR EXISTS (SELECT 1 FROM ${revokedAccessTokens} WHERE ${revokedAccessTokens.jti} = ${sql.placeholder('jti')})`,
    })
    .from(grants)
    .innerJoin(users, eq(users.id, grants.userId))
    .leftJoin(wechatIdentities, identityOfGrant)
    .where(eq(grants.id, sql.placeholder('grantId')))
    .prepare(),
);

export async function findAccessTokenGrant(db: Db, grantId: string, jti: string): Promise<{ subject: Subject; revoked: boolean } | undefined> {
  const row = await accessTokenGrantQuery(db).get({ grantId, jti });
  const subject = row && toSubject(row, { appid: row.wechatAppid, openid: row.wechatOpenid });
  return subject && { subject, revoked: row.revoked === 1 };
}

export interface RefreshTokenState {
  token: { tokenHash: string; grantId: string; createdAt: number; expiresAt: number; usedAt: number | null; replacedBy: string | null };
  grant: GrantRow;
  subject: Subject;
}

/**
 * Selected with distinct column names: inside a D1 batch, rows come back as
 * objects, where a second `id` or `expires_at` would overwrite the first.
 */
const refreshTokenQuery = (db: Db, tokenHash: string | Placeholder) =>
  db
    .select({
      token: {
        tokenHash: refreshTokens.tokenHash,
        grantId: refreshTokens.grantId,
        createdAt: sql<number>`${refreshTokens.createdAt}`.as('token_created_at'),
        expiresAt: sql<number>`${refreshTokens.expiresAt}`.as('token_expires_at'),
        usedAt: refreshTokens.usedAt,
        replacedBy: refreshTokens.replacedBy,
      },
      grant: {
        id: sql<string>`${grants.id}`.as('grant_row_id'),
        clientId: grants.clientId,
        userId: grants.userId,
        scope: grants.scope,
        authTime: grants.authTime,
        amr: grants.amr,
        wechatAppid: grants.wechatAppid,
        wechatOpenid: grants.wechatOpenid,
        sid: grants.sid,
        createdAt: grants.createdAt,
        expiresAt: grants.expiresAt,
        revokedAt: grants.revokedAt,
      },
      ...subjectColumns,
    })
    .from(refreshTokens)
    .innerJoin(grants, eq(grants.id, refreshTokens.grantId))
    .innerJoin(users, eq(users.id, grants.userId))
    .leftJoin(wechatIdentities, identityOfGrant)
    .where(eq(refreshTokens.tokenHash, tokenHash));

type RefreshTokenRow = Awaited<ReturnType<ReturnType<typeof refreshTokenQuery>['get']>>;

function toRefreshTokenState(row: RefreshTokenRow): RefreshTokenState | undefined {
  const subject = row && toSubject(row, { appid: row.grant.wechatAppid, openid: row.grant.wechatOpenid });
  return subject && { token: row.token, grant: row.grant, subject };
}

export async function findRefreshToken(db: Db, tokenHash: string): Promise<RefreshTokenState | undefined> {
  return toRefreshTokenState(await refreshTokenQuery(db, tokenHash).get());
}

/** Why a refresh token cannot be spent, or undefined when it can. */
export type RefreshTokenProblem = 'unknown' | 'other_client' | 'revoked' | 'used' | 'expired' | 'scope_not_granted';

/**
 * The liveness rule of a refresh token, in the order a client is told why
 * not (RFC 6749 §6, RFC 9700 §4.14.2). `rotateRefreshToken` enforces the
 * same conditions in SQL; a test holds the two to agreement.
 */
export function refreshTokenProblem(
  state: RefreshTokenState | undefined,
  clientId: string,
  scopes: readonly string[] | undefined,
  now: number,
): RefreshTokenProblem | undefined {
  if (!state) return 'unknown';
  // A token of another client is not this client's to spend, nor to learn about.
  if (state.grant.clientId !== clientId) return 'other_client';
  if (state.grant.revokedAt !== null) return 'revoked';
  if (state.token.usedAt !== null) return 'used';
  if (state.token.expiresAt <= now) return 'expired';
  const granted = state.grant.scope.split(' ');
  if (scopes?.some((scope) => !granted.includes(scope))) return 'scope_not_granted';
  return undefined;
}

export interface Rotation {
  oldHash: string;
  newHash: string;
  clientId: string;
  /** Scopes the new access token asks for: each must be in the grant. */
  scopes?: readonly string[];
  now: number;
  /** Lifetime of the new refresh token, never past its grant's. */
  ttl: number;
}

/**
 * One refresh, one round trip, one transaction: reads the presented token
 * as it was, and spends it for a successor only if `refreshTokenProblem`
 * finds none (here as SQL). `before` lets the caller say why not; `rotated`
 * false with a `before` that was fine means a concurrent request spent it first.
 */
export async function rotateRefreshToken(db: Db, rotation: Rotation): Promise<{ before?: RefreshTokenState; rotated: boolean }> {
  const { oldHash, newHash, clientId, now, ttl, scopes } = rotation;
  const values = { oldHash, newHash, clientId, now, expiresAt: now + ttl };
  // The usual refresh asks for the grant's scopes: its statements are built once. One that narrows them is built for its scopes.
  const [before, marked] = (await (scopes === undefined
    ? db.batch(forAll(rotationStatements(db), values))
    : db.batch(rotationBuilders(db, values, scopes)))) as [RefreshTokenRow[], D1Result, D1Result];
  return { before: toRefreshTokenState(before[0]), rotated: marked.meta.changes === 1 };
}

/** What a rotation binds: values, or the placeholders of the statements built once. */
interface RotationValues {
  oldHash: string | Placeholder;
  newHash: string | Placeholder;
  clientId: string | Placeholder;
  now: number | Placeholder;
  expiresAt: number | Placeholder;
}

/** The rotation's three statements: read the presented token, spend it if live, and write its successor if it was spent for this one. */
function rotationBuilders(db: Db, v: RotationValues, scopes: readonly string[]) {
  const scopesGranted = scopes.map((scope) => sql`instr(' ' || ${grants.scope} || ' ', ${` ${scope} `}) > 0`);
  return [
    refreshTokenQuery(db, v.oldHash),
    db
      .update(refreshTokens)
      .set({ usedAt: sql`${v.now}`, replacedBy: sql`${v.newHash}` })
      .where(
        and(
          eq(refreshTokens.tokenHash, v.oldHash),
          isNull(refreshTokens.usedAt),
          gt(refreshTokens.expiresAt, v.now),
          sql`EXISTS (SELECT 1 FROM ${grants} WHERE ${and(eq(grants.id, refreshTokens.grantId), eq(grants.clientId, v.clientId), isNull(grants.revokedAt), ...scopesGranted)})`,
        ),
      ),
    db.insert(refreshTokens).select(sql`
      SELECT ${v.newHash}, rt.grant_id, ${v.now}, MIN(${v.expiresAt}, g.expires_at), NULL, NULL
      FROM refresh_tokens rt JOIN grants g ON g.id = rt.grant_id
      WHERE rt.token_hash = ${v.oldHash} AND rt.replaced_by = ${v.newHash}`),
  ] as const;
}

/** The rotation of the grant's own scopes, built once per database with placeholders (rotateRefreshToken binds them). */
const rotationStatements = preparedOnce((db) => {
  const names = ['oldHash', 'newHash', 'clientId', 'now', 'expiresAt'] as const;
  const placeholders = Object.fromEntries(names.map((name) => [name, sql.placeholder(name)])) as Record<(typeof names)[number], Placeholder>;
  const [read, spend, succeed] = rotationBuilders(db, placeholders, []);
  return [read.prepare(), spend.prepare(), succeed.prepare()] as const;
});

export async function revokeGrant(db: Db, grantId: string, now: number): Promise<void> {
  await db
    .update(grants)
    .set({ revokedAt: now })
    .where(and(eq(grants.id, grantId), isNull(grants.revokedAt)));
}

export async function revokeAccessToken(db: Db, jti: string, expiresAt: number): Promise<void> {
  await db.insert(revokedAccessTokens).values({ jti, expiresAt }).onConflictDoNothing();
}
