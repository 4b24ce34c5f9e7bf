/** The mini program's answers to pending logins (SPEC.md §5), at most one per login id. */
import { eq } from 'drizzle-orm';
import type { Db } from './db';
import { loginApprovals } from './schema';

export type Approval = typeof loginApprovals.$inferSelect;

export async function findApproval(db: Db, loginId: string): Promise<Approval | undefined> {
  return db.select().from(loginApprovals).where(eq(loginApprovals.loginId, loginId)).get();
}

/** Fails with a unique violation when the login was already answered. */
export async function insertApproval(db: Db, approval: Approval): Promise<void> {
  await db.insert(loginApprovals).values(approval);
}
