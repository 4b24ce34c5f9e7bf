/** RFC 8628 device authorizations in D1: issued once, polled often. */
import { eq, sql } from 'drizzle-orm';
import type { Db } from './db';
import { deviceCodes, loginApprovals } from './schema';

export type DeviceCode = typeof deviceCodes.$inferSelect;

export async function insertDeviceCode(db: Db, row: DeviceCode): Promise<void> {
  await db.insert(deviceCodes).values(row);
}

/**
 * One poll, one round trip: reads the device code with its approval as they
 * were, and records this poll, widening the interval by 5 s when the client
 * polled too fast (RFC 8628 §3.5 slow_down).
 */
export async function pollDeviceCode(db: Db, codeHash: string, now: number) {
  const [rows] = await db.batch([
    db
      .select({ device: deviceCodes, approval: loginApprovals })
      .from(deviceCodes)
      .leftJoin(loginApprovals, eq(loginApprovals.loginId, deviceCodes.userCode))
      .where(eq(deviceCodes.codeHash, codeHash)),
    db
      .update(deviceCodes)
      .set({
        interval: sql`CASE WHEN ${deviceCodes.lastPolledAt} IS NOT NULL AND ${now} - ${deviceCodes.lastPolledAt} < ${deviceCodes.interval}
                      THEN ${deviceCodes.interval} + 5 ELSE ${deviceCodes.interval} END`,
        lastPolledAt: now,
      })
      .where(eq(deviceCodes.codeHash, codeHash)),
  ]);
  return rows[0];
}
