/** The mini program's answers to pending logins (docs/protocol.md §5), at most one per login id. */
import { eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Subject } from '../types';
import { auditStatement, type AuditEntry } from './audit';
import type { Db } from './db';
import { loginApprovals, users, wechatIdentities } from './schema';
import { identityNamedBy, subjectColumns, toSubject } from './subjects';

export type Approval = typeof loginApprovals.$inferSelect;

/** The answer to a login, with the subject who approved it (none when denied): one query. */
export async function findApproval(db: Db, loginId: string): Promise<{ approval: Approval; subject?: Subject } | undefined> {
  const row = await db
    .select({ approval: loginApprovals, ...subjectColumns })
    .from(loginApprovals)
    .leftJoin(users, eq(users.id, loginApprovals.userId))
    .leftJoin(wechatIdentities, identityNamedBy(loginApprovals.wechatAppid, loginApprovals.wechatOpenid))
    .where(eq(loginApprovals.loginId, loginId))
    .get();
  if (!row) return undefined;
  const { wechatAppid, wechatOpenid } = row.approval;
  const subject = row.approval.approved && wechatAppid && wechatOpenid ? toSubject(row, { appid: wechatAppid, openid: wechatOpenid }) : undefined;
  return { approval: row.approval, subject };
}

/**
 * Fails with a unique violation when the login was already answered. `audit`
 * records the answer in the same batch (src/store/audit.ts), after `first`
 * (the binding of the user who approved, src/store/identities.ts).
 */
export async function insertApproval(db: Db, approval: Approval, audit: AuditEntry, first: BatchItem<'sqlite'>[] = []): Promise<void> {
  const statements: BatchItem<'sqlite'>[] = [...first, db.insert(loginApprovals).values(approval), auditStatement(db, audit, approval.authTime)];
  await db.batch(statements as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
}
