/** RFC 8628 device authorizations in D1: issued once, polled often. */
import { and, eq, gt, isNotNull, or, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Db } from './db';
import { refreshTokenOfGrant } from './grants';
import { auditLog, deviceCodes, grants, loginApprovals, singleUses, users, wechatIdentities } from './schema';
import { identityNamedBy, subjectColumns, toSubject } from './subjects';

export type DeviceCode = typeof deviceCodes.$inferSelect;

/** RFC 8628 §3.5: each poll that comes too soon widens the interval by this many seconds. */
export const SLOW_DOWN_STEP = 5;

/**
 * A poll sooner than the interval allows. `pollDeviceCode` enforces this
 * rule in SQL (widening the interval); the grant uses it to say slow_down.
 */
export const pollTooSoon = (device: Pick<DeviceCode, 'lastPolledAt' | 'interval'>, now: number) =>
  device.lastPolledAt !== null && now - device.lastPolledAt < device.interval;

export async function insertDeviceCode(db: Db, row: DeviceCode): Promise<void> {
  await db.insert(deviceCodes).values(row);
}

/**
 * What a poll issues when it finds the code approved: the grant (its id,
 * expiry and amr), its refresh token, and the login's audit entry, whose
 * door is SQL of the approving appid.
 */
export interface DeviceIssue {
  grantId: string;
  grantExpiresAt: number;
  amr: string;
  refresh: { tokenHash: string; expiresAt: number };
  doorOf: (appid: SQLiteColumn) => SQL;
}

/** The single-use key of a device code (src/store/single-use.ts). */
export const deviceUseKey = (codeHash: string) => `device:${codeHash}`;

/**
 * One poll, one round trip: reads the device code with its approval (and
 * who approved) as they were, and records this poll, widening the interval
 * by SLOW_DOWN_STEP when the poll came too soon (`pollTooSoon`). Only the client the code was
 * issued to polls it: another client's poll neither sees nor touches it.
 *
 * With `issue`, the same batch redeems the code when it is due: the
 * single-use claim is an `INSERT … SELECT` guarded by RFC 8628 §3.5's
 * checks (this client's, unexpired, not too soon, approved by a person who
 * still exists), and the grant, its refresh token (with offline_access) and
 * the audit entry follow from the claim. `issued` says whether they did. A
 * poll of this client's after the code was used, expired by now or not,
 * fails the claim's primary key, and the batch as a whole, so that the
 * caller revokes what the first was issued (RFC 6749 §4.1.2's rule, applied
 * to device codes too). A code never used claims nothing until it is due.
 */
export async function pollDeviceCode(db: Db, codeHash: string, clientId: string, now: number, issue?: DeviceIssue) {
  const polled = and(eq(deviceCodes.codeHash, codeHash), eq(deviceCodes.clientId, clientId));
  const read = db
    .select({ device: deviceCodes, approval: loginApprovals, ...subjectColumns, issued: issuedBy(codeHash, issue) })
    .from(deviceCodes)
    .leftJoin(loginApprovals, eq(loginApprovals.loginId, deviceCodes.userCode))
    .leftJoin(users, eq(users.id, loginApprovals.userId))
    .leftJoin(wechatIdentities, identityNamedBy(loginApprovals.wechatAppid, loginApprovals.wechatOpenid))
    .where(polled);
  const record = db
    .update(deviceCodes)
    .set({
      interval: sql`CASE WHEN ${tooSoonAt(now)} THEN ${deviceCodes.interval} + ${SLOW_DOWN_STEP} ELSE ${deviceCodes.interval} END`,
      lastPolledAt: now,
    })
    .where(polled);
  // The read sees the code as this poll found it: after the claim (which reads the same columns), before the poll is recorded.
  const rows = issue
    ? (await db.batch([...issueStatements(db, codeHash, clientId, now, issue), read, record]))[4]
    : (await db.batch([read, record]))[0];
  const row = rows[0];
  if (!row) return undefined;
  const { device, approval } = row;
  const subject =
    approval?.approved && approval.wechatAppid && approval.wechatOpenid
      ? toSubject(row, { appid: approval.wechatAppid, openid: approval.wechatOpenid })
      : undefined;
  return { device, approval, subject, issued: row.issued === 1 };
}

/** `pollTooSoon` in SQL, of the row as it was before this poll. */
const tooSoonAt = (now: number) => sql`${deviceCodes.lastPolledAt} IS NOT NULL AND ${now} - ${deviceCodes.lastPolledAt} < ${deviceCodes.interval}`;

/** True once this batch's claim is made. */
const claimedBy = (codeHash: string, grantId: string) =>
  sql<number>`EXISTS (SELECT 1 FROM ${singleUses} WHERE ${singleUses.key} = ${deviceUseKey(codeHash)} AND ${singleUses.grantId} = ${grantId})`;

const issuedBy = (codeHash: string, issue: DeviceIssue | undefined) => (issue ? claimedBy(codeHash, issue.grantId) : sql<number>`0`).as('issued');

/** True once the device code was used, by this batch or an earlier one. */
const usedAlready = (codeHash: string) => sql`EXISTS (SELECT 1 FROM ${singleUses} WHERE ${singleUses.key} = ${deviceUseKey(codeHash)})`;

function issueStatements(db: Db, codeHash: string, clientId: string, now: number, issue: DeviceIssue) {
  const due = and(
    gt(deviceCodes.expiresAt, now),
    sql`NOT (${tooSoonAt(now)})`,
    eq(loginApprovals.approved, true),
    isNotNull(loginApprovals.wechatAppid),
    isNotNull(loginApprovals.wechatOpenid),
    isNotNull(users.id),
  );
  const theGrant = eq(grants.id, issue.grantId);
  return [
    // The claim, then the grant from the code and its approval (by a person who still exists), once claimed.
    // A poll of a used code, however late or soon, claims it again to fail on the primary key, whether or not its answer is still here.
    db.insert(singleUses).select((qb) =>
      qb
        .select({ key: sql`${deviceUseKey(codeHash)}`.as('key'), grantId: sql`${issue.grantId}`.as('grant_id'), usedAt: sql`${now}`.as('used_at') })
        .from(deviceCodes)
        .leftJoin(loginApprovals, eq(loginApprovals.loginId, deviceCodes.userCode))
        .leftJoin(users, eq(users.id, loginApprovals.userId))
        .where(and(eq(deviceCodes.codeHash, codeHash), eq(deviceCodes.clientId, clientId), or(due, usedAlready(codeHash)))),
    ),
    db.insert(grants).select((qb) =>
      qb
        .select({
          id: sql`${issue.grantId}`.as('id'),
          clientId: deviceCodes.clientId,
          userId: loginApprovals.userId,
          scope: deviceCodes.scope,
          authTime: loginApprovals.authTime,
          amr: sql`${issue.amr}`.as('amr'),
          wechatAppid: loginApprovals.wechatAppid,
          wechatOpenid: loginApprovals.wechatOpenid,
          sid: sql`NULL`.as('sid'),
          createdAt: sql`${now}`.as('created_at'),
          expiresAt: sql`${issue.grantExpiresAt}`.as('expires_at'),
          revokedAt: sql`NULL`.as('revoked_at'),
        })
        .from(deviceCodes)
        .innerJoin(loginApprovals, eq(loginApprovals.loginId, deviceCodes.userCode))
        .where(and(eq(deviceCodes.codeHash, codeHash), claimedBy(codeHash, issue.grantId))),
    ),
    // What follows the grant is read from it.
    refreshTokenOfGrant(db, issue.grantId, issue.refresh, now),
    db.insert(auditLog).select((qb) =>
      qb
        .select({
          id: sql`NULL`.as('id'),
          at: sql`${now}`.as('at'),
          event: sql`'login'`.as('event'),
          actor: sql`'user'`.as('actor'),
          userId: grants.userId,
          clientId: grants.clientId,
          detail: sql`json_object('door', ${issue.doorOf(grants.wechatAppid)}, 'appid', ${grants.wechatAppid})`.as('detail'),
        })
        .from(grants)
        .where(theGrant),
    ),
  ] as const;
}
