/** Browser login sessions in D1, keyed by the SHA-256 of the cookie value. */
import { and, eq, gt } from 'drizzle-orm';
import type { Db } from './db';
import { sessions } from './schema';

export type Session = typeof sessions.$inferSelect;

export const insertSessionStatement = (db: Db, session: Session) => db.insert(sessions).values(session);

export async function findSession(db: Db, idHash: string, now: number): Promise<Session | undefined> {
  return db.select().from(sessions).where(and(eq(sessions.idHash, idHash), gt(sessions.expiresAt, now))).get();
}

export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.idHash, idHash));
}
