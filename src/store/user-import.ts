/**
 * Users who existed before the bridge, imported by the admin API: a user row
 * with a phone number and no WeChat identity yet, which binding rule 3
 * (src/identity/binding.ts) links to the first WeChat login verifying that number.
 */
import { randomId } from '../crypto';
import { auditStatement } from './audit';
import { isUniqueViolation, type Db } from './db';
import { users } from './schema';

export interface UserImport {
  /** E.164. */
  phoneNumber: string;
  /** What the `name` and `nickname` claims say until WeChat gives a nickname. */
  name?: string;
}

/** The new user's `sub`, or undefined when a user already has the number. One write, its audit entry in it. */
export async function importUser(db: Db, { phoneNumber, name }: UserImport, now: number): Promise<string | undefined> {
  const id = randomId(16);
  try {
    await db.batch([
      db.insert(users).values({ id, phoneNumber, nickname: name ?? null, picture: null, createdAt: now, updatedAt: now }),
      auditStatement(db, { event: 'user.imported', actor: 'admin', userId: id }, now),
    ]);
    return id;
  } catch (error) {
    // The unique index on phone_number decides, also between two imports of one number at once.
    if (isUniqueViolation(error)) return undefined;
    throw error;
  }
}
