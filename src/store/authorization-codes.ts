/**
 * Authorization codes (RFC 6749 §4.1.2) in D1, by SHA-256 of the code.
 * Redeeming one is one batch (one round trip): the single-use claim, the
 * grant and its refresh token are `INSERT … SELECT`s from the code's row,
 * each guarded by the redemption's checks (§4.1.3, RFC 7636 §4.6) as SQL
 * conditions, and the last statement reads the row back with the user, so
 * the caller learns whether the grant was made and, if not, why.
 */
import { and, eq, gt, or, sql } from 'drizzle-orm';
import type { Scope, Subject } from '../types';
import { forAll, preparedOnce, type Db } from './db';
import { refreshTokenOfGrant } from './grants';
import { authorizationCodes, grants, singleUses, users, wechatIdentities } from './schema';
import { identityNamedBy, subjectColumns, toSubject } from './subjects';

export interface NewAuthorizationCode {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  nonce?: string;
  subject: Subject;
  scopes: Scope[];
  authTime: number;
  amr: string[];
  /** The browser session the code was issued in (Back-Channel Logout 1.0 §2.1), for the grant and its ID tokens. */
  sid?: string;
  expiresAt: number;
}

/** The statement that stores a code, for the caller's batch (the login's way back writes it with the session). */
export const insertCodeStatement = (db: Db, code: NewAuthorizationCode) =>
  db.insert(authorizationCodes).values({
    codeHash: code.codeHash,
    clientId: code.clientId,
    redirectUri: code.redirectUri,
    codeChallenge: code.codeChallenge ?? null,
    nonce: code.nonce ?? null,
    userId: code.subject.id,
    scope: code.scopes.join(' '),
    authTime: code.authTime,
    amr: code.amr.join(' '),
    wechatAppid: code.subject.wechat.appid,
    wechatOpenid: code.subject.wechat.openid,
    sid: code.sid ?? null,
    expiresAt: code.expiresAt,
  });

/** The single-use key of a code (src/store/single-use.ts), also what the purge knows it by. */
export const codeUseKey = (codeHash: string) => `code:${codeHash}`;

export interface Redemption {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  /** S256 of the presented code_verifier, or null when none was presented. */
  challenge: string | null;
  grantId: string;
  grantExpiresAt: number;
  refresh: { tokenHash: string; expiresAt: number };
  now: number;
}

/** A code as redemption read it back: `issued` when its grant was made by this batch. */
export interface RedeemedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  nonce: string | null;
  scopes: Scope[];
  authTime: number;
  amr: string[];
  sid: string | null;
  expiresAt: number;
  subject: Subject | undefined;
  issued: boolean;
}

/**
 * The redemption as one batch. The claim is tried only when the code is this
 * client's, for this redirect URI, and its challenge is the verifier's (or
 * both are absent: RFC 9700 §4.8.2 refuses a verifier for a code issued
 * without a challenge), and the code is unexpired or already used; the grant
 * follows only when this batch made the claim; the refresh token only when
 * the grant exists and offline_access was granted. A second redemption,
 * expired by now or not, fails the claim's primary key, and the batch as a
 * whole, so that the caller revokes what the first was issued (§4.1.2). An
 * expired code never used is not claimed: nothing is written for it. Built
 * once per database, then bound (redemptionBatch).
 */
const redemptionStatements = preparedOnce((db) => {
  const p = {
    key: sql.placeholder('key'),
    codeHash: sql.placeholder('codeHash'),
    clientId: sql.placeholder('clientId'),
    redirectUri: sql.placeholder('redirectUri'),
    challenge: sql.placeholder('challenge'),
    grantId: sql.placeholder('grantId'),
    grantExpiresAt: sql.placeholder('grantExpiresAt'),
    refreshTokenHash: sql.placeholder('refreshTokenHash'),
    refreshExpiresAt: sql.placeholder('refreshExpiresAt'),
    now: sql.placeholder('now'),
  };
  const used = sql`EXISTS (SELECT 1 FROM ${singleUses} WHERE ${singleUses.key} = ${p.key})`;
  const claimed = sql`EXISTS (SELECT 1 FROM ${singleUses} WHERE ${singleUses.key} = ${p.key} AND ${singleUses.grantId} = ${p.grantId})`;
  const redeemable = and(
    eq(authorizationCodes.codeHash, p.codeHash),
    eq(authorizationCodes.clientId, p.clientId),
    eq(authorizationCodes.redirectUri, p.redirectUri),
    sql`${authorizationCodes.codeChallenge} IS ${p.challenge}`,
    // Past its expiry a code is claimed only to fail: the claim of a used code breaks the primary key, whatever the time.
    or(gt(authorizationCodes.expiresAt, p.now), used),
  );
  const code = eq(authorizationCodes.codeHash, p.codeHash);
  return [
    db
      .insert(singleUses)
      .select((qb) =>
        qb.select({ key: sql`${p.key}`.as('key'), grantId: sql`${p.grantId}`.as('grant_id'), usedAt: sql`${p.now}`.as('used_at') }).from(authorizationCodes).where(redeemable),
      )
      .prepare(),
    db
      .insert(grants)
      .select((qb) =>
        qb
          .select({
            id: sql`${p.grantId}`.as('id'),
            clientId: authorizationCodes.clientId,
            userId: authorizationCodes.userId,
            scope: authorizationCodes.scope,
            authTime: authorizationCodes.authTime,
            amr: authorizationCodes.amr,
            wechatAppid: authorizationCodes.wechatAppid,
            wechatOpenid: authorizationCodes.wechatOpenid,
            sid: authorizationCodes.sid,
            createdAt: sql`${p.now}`.as('created_at'),
            expiresAt: sql`${p.grantExpiresAt}`.as('expires_at'),
            revokedAt: sql`NULL`.as('revoked_at'),
          })
          .from(authorizationCodes)
          .where(and(code, claimed)),
      )
      .prepare(),
    refreshTokenOfGrant(db, p.grantId, { tokenHash: p.refreshTokenHash, expiresAt: p.refreshExpiresAt }, p.now).prepare(),
    db
      .select({
        clientId: authorizationCodes.clientId,
        redirectUri: authorizationCodes.redirectUri,
        codeChallenge: authorizationCodes.codeChallenge,
        nonce: authorizationCodes.nonce,
        scope: authorizationCodes.scope,
        authTime: authorizationCodes.authTime,
        amr: authorizationCodes.amr,
        sid: authorizationCodes.sid,
        codeExpiresAt: sql<number>`${authorizationCodes.expiresAt}`.as('code_expires_at'),
        wechatAppid: authorizationCodes.wechatAppid,
        wechatOpenid: authorizationCodes.wechatOpenid,
        ...subjectColumns,
        issued: sql<number>`${claimed}`.as('issued'),
      })
      .from(authorizationCodes)
      .leftJoin(users, eq(users.id, authorizationCodes.userId))
      .leftJoin(wechatIdentities, identityNamedBy(authorizationCodes.wechatAppid, authorizationCodes.wechatOpenid))
      .where(code)
      .prepare(),
  ] as const;
});

/** The redemption's batch, bound to `r`: the claim, the grant, its refresh token, the code read back (redeemedCode reads the results). */
export function redemptionBatch(db: Db, r: Redemption) {
  return forAll(redemptionStatements(db), {
    key: codeUseKey(r.codeHash),
    codeHash: r.codeHash,
    clientId: r.clientId,
    redirectUri: r.redirectUri,
    challenge: r.challenge,
    grantId: r.grantId,
    grantExpiresAt: r.grantExpiresAt,
    refreshTokenHash: r.refresh.tokenHash,
    refreshExpiresAt: r.refresh.expiresAt,
    now: r.now,
  });
}

type ReadBack = Awaited<ReturnType<ReturnType<typeof redemptionStatements>[3]['all']>>[number];

/** What a redemption batch's results say of the code: its last result, the code read back. */
export const redeemedCode = (results: unknown[]) => toRedeemedCode((results.at(-1) as ReadBack[])[0]);

function toRedeemedCode(row: ReadBack | undefined): RedeemedCode | undefined {
  if (!row) return undefined;
  return {
    clientId: row.clientId,
    redirectUri: row.redirectUri,
    codeChallenge: row.codeChallenge,
    nonce: row.nonce,
    scopes: row.scope.split(' ') as Scope[],
    authTime: row.authTime,
    amr: row.amr.split(' '),
    sid: row.sid,
    expiresAt: row.codeExpiresAt,
    subject: toSubject(row, { appid: row.wechatAppid, openid: row.wechatOpenid }),
    issued: row.issued === 1,
  };
}
