/** Browser login sessions in D1, keyed by the SHA-256 of the cookie value. */
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Subject } from '../types';
import { preparedOnce, type Db } from './db';
import { sessions, users, wechatIdentities } from './schema';
import { identityNamedBy, subjectColumns, toSubject } from './subjects';

export type Session = typeof sessions.$inferSelect;

export const insertSessionStatement = (db: Db, session: Session) => db.insert(sessions).values(session);

// Read by every authorization request of a browser that has one: built once per database, then only bound.
const sessionQuery = preparedOnce((db) =>
  db
    .select({ session: sessions, ...subjectColumns })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(wechatIdentities, identityNamedBy(sessions.wechatAppid, sessions.wechatOpenid))
    .where(and(eq(sessions.idHash, sql.placeholder('idHash')), gt(sessions.expiresAt, sql.placeholder('now'))))
    .prepare(),
);

/** A live session with its subject, ready to put into an authorization code: one query. */
export async function findSession(db: Db, idHash: string, now: number): Promise<{ session: Session; subject: Subject } | undefined> {
  const row = await sessionQuery(db).get({ idHash, now });
  const subject = row && toSubject(row, { appid: row.session.wechatAppid, openid: row.session.wechatOpenid });
  return subject && { session: row.session, subject };
}

/** The same person approved again in this browser: the row (and so its key) stays, renewed. */
export const renewSessionStatement = (db: Db, idHash: string, fields: Omit<Session, 'idHash'>) =>
  db.update(sessions).set(fields).where(eq(sessions.idHash, idHash));

export const deleteSessionStatement = (db: Db, idHash: string) => db.delete(sessions).where(eq(sessions.idHash, idHash));

export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await deleteSessionStatement(db, idHash);
}
