/** RFC 8628 device authorizations in D1: issued once, polled often. */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './db';
import { deviceCodes, loginApprovals, users, wechatIdentities } from './schema';
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
 * One poll, one round trip: reads the device code with its approval (and
 * who approved) as they were, and records this poll, widening the interval
 * by SLOW_DOWN_STEP when the poll came too soon (`pollTooSoon`). Only the client the code was
 * issued to polls it: another client's poll neither sees nor touches it.
 */
export async function pollDeviceCode(db: Db, codeHash: string, clientId: string, now: number) {
  const polled = and(eq(deviceCodes.codeHash, codeHash), eq(deviceCodes.clientId, clientId));
  const [rows] = await db.batch([
    db
      .select({ device: deviceCodes, approval: loginApprovals, ...subjectColumns })
      .from(deviceCodes)
      .leftJoin(loginApprovals, eq(loginApprovals.loginId, deviceCodes.userCode))
      .leftJoin(users, eq(users.id, loginApprovals.userId))
      .leftJoin(wechatIdentities, identityNamedBy(loginApprovals.wechatAppid, loginApprovals.wechatOpenid))
      .where(polled),
    db
      .update(deviceCodes)
      .set({
        interval: sql`CASE WHEN ${deviceCodes.lastPolledAt} IS NOT NULL AND ${now} - ${deviceCodes.lastPolledAt} < ${deviceCodes.interval}
                      THEN ${deviceCodes.interval} + ${SLOW_DOWN_STEP} ELSE ${deviceCodes.interval} END`,
        lastPolledAt: now,
      })
      .where(polled),
  ]);
  const row = rows[0];
  if (!row) return undefined;
  const { device, approval } = row;
  const subject =
    approval?.approved && approval.wechatAppid && approval.wechatOpenid
      ? toSubject(row, { appid: approval.wechatAppid, openid: approval.wechatOpenid })
      : undefined;
  return { device, approval, subject };
}
