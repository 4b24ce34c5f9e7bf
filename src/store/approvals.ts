/** The mini program's answers to pending logins (docs/protocol.md §5), at most one per login id. */
import { eq, sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Subject } from '../types';
import { auditStatement, type AuditEntry } from './audit';
import { preparedOnce, type Db } from './db';
import { loginApprovals, users, wechatIdentities } from './schema';
import { identityNamedBy, subjectColumns, toSubject } from './subjects';

export type Approval = typeof loginApprovals.$inferSelect;

// Read by the handoff, the way back and every status poll: built once per database, then only bound.
const approvalQuery = preparedOnce((db) =>
  db
    .select({ approval: loginApprovals, ...subjectColumns })
    .from(loginApprovals)
    .leftJoin(users, eq(users.id, loginApprovals.userId))
    .leftJoin(wechatIdentities, identityNamedBy(loginApprovals.wechatAppid, loginApprovals.wechatOpenid))
    .where(eq(loginApprovals.loginId, sql.placeholder('loginId')))
    .prepare(),
);

/** The answer to a login, with the subject who approved it (none when denied): one query. */
export async function findApproval(db: Db, loginId: string): Promise<{ approval: Approval; subject?: Subject } | undefined> {
  const row = await approvalQuery(db).get({ loginId });
  if (!row) return undefined;
  const { wechatAppid, wechatOpenid } = row.approval;
  const subject = row.approval.approved && wechatAppid && wechatOpenid ? toSubject(row, { appid: wechatAppid, openid: wechatOpenid }) : undefined;
  return { approval: row.approval, subject };
}

/** An answer to write: the approver may be SQL, the user a binding in the same batch settles. */
export type NewApproval = Omit<Approval, 'userId'> & { userId: string | SQL | null };

/**
 * The answer and its audit entry (src/store/audit.ts), for a batch after the
 * binding of the user who approved (src/store/identities.ts). The batch
 * fails with a unique violation when the login was already answered.
 */
export const approvalStatements = (db: Db, approval: NewApproval, audit: AuditEntry): BatchItem<'sqlite'>[] => [
  db.insert(loginApprovals).values(approval),
  auditStatement(db, audit, approval.authTime),
];

/** An answer without a binding (a refusal), on its own. */
export async function insertApproval(db: Db, approval: NewApproval, audit: AuditEntry): Promise<void> {
  await db.batch(approvalStatements(db, approval, audit) as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
}
