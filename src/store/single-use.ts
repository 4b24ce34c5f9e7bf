/**
 * The strongly consistent "only once" guard (D1). The first use of a key
 * inserts its row; any later use, concurrent or not, fails on the primary
 * key and learns which grant the first use made, so that it can be revoked.
 */
import { eq } from 'drizzle-orm';
import type { Db } from './db';
import { singleUses } from './schema';

export const claimStatement = (db: Db, key: string, grantId: string | null, now: number) =>
  db.insert(singleUses).values({ key, grantId, usedAt: now });

export async function grantOfUse(db: Db, key: string): Promise<string | null | undefined> {
  const row = await db.select({ grantId: singleUses.grantId }).from(singleUses).where(eq(singleUses.key, key)).get();
  return row?.grantId;
}
