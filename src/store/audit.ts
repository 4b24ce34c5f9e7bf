/**
 * The audit log (docs/storage.md "audit_log"): what happened, for operators.
 * An entry is a statement to add to the write batch the event already makes,
 * so recording costs no round trip of its own. Entries name a person only by
 * the opaque `sub`; never a secret, an openid, a unionid or a phone number.
 */
import { desc, eq, type SQL } from 'drizzle-orm';
import type { Db } from './db';
import { auditLog } from './schema';

/** Who did it: the person (in WeChat), an operator (the admin API), a client, or the bridge on its own. */
export type AuditActor = 'user' | 'admin' | 'client' | 'bridge';

/** How the person signed in: a WeChat app's kind, or a browser session they already had. */
export type LoginDoor = 'app' | 'miniprogram' | 'officialaccount' | 'website' | 'session';

/** The events, and the facts each records (docs/protocol.md "The audit log"). */
export type AuditEvent =
  | { event: 'login'; detail: { door: LoginDoor; appid: string } }
  | { event: 'login.approved' | 'login.denied'; detail: { door: LoginDoor; appid?: string } }
  | { event: 'user.created'; detail: { appid: string } }
  | { event: 'user.linked'; detail: { appid: string; how: 'unionid' | 'phone' } }
  | { event: 'user.imported'; detail?: undefined }
  | { event: 'user.deleted'; detail: { grants: number } }
  | { event: 'user.revoked'; detail: { grants: number; sessions: number } }
  | { event: 'client.revoked'; detail: { grants: number } }
  | { event: 'delivery.failed'; detail: { kind: 'webhook' | 'logout' | 'event' | 'unknown'; origin?: string; type?: string } };

export type AuditEntry = AuditEvent & {
  actor: AuditActor;
  /** The user's id, or SQL naming the user a binding in the same batch settles. */
  userId?: string | SQL | null;
  clientId?: string | null;
};

/** The insert of one entry at `at` (epoch seconds), for a batch. */
export const auditStatement = (db: Db, entry: AuditEntry, at: number) =>
  db.insert(auditLog).values({
    at,
    event: entry.event,
    actor: entry.actor,
    userId: entry.userId ?? null,
    clientId: entry.clientId ?? null,
    detail: entry.detail ?? null,
  });

/** What the admin API shows of an entry. */
export interface AuditRecord {
  at: number;
  event: string;
  actor: string;
  sub: string | null;
  client_id: string | null;
  detail: Record<string, string | number | boolean> | null;
}

/**
 * The newest `limit` entries, newest first, of one user or of everyone: one
 * query, on the (user_id, at) index or the primary key.
 */
export async function recentAudit(db: Db, userId: string | undefined, limit: number): Promise<AuditRecord[]> {
  return db
    .select({
      at: auditLog.at,
      event: auditLog.event,
      actor: auditLog.actor,
      sub: auditLog.userId,
      client_id: auditLog.clientId,
      detail: auditLog.detail,
    })
    .from(auditLog)
    .where(userId === undefined ? undefined : eq(auditLog.userId, userId))
    // A user's entries come off the (user_id, at) index in order (its rowid breaks ties); everyone's off the rowid.
    .orderBy(...(userId === undefined ? [desc(auditLog.id)] : [desc(auditLog.at), desc(auditLog.id)]))
    .limit(limit);
}
