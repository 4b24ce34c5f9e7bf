/**
 * Identity bindings in D1 (docs/protocol.md §7), decided and written by SQL
 * inside the caller's batch (a transaction): the grant's or the approval's.
 * A login's binding therefore costs no round trip of its own, not even a
 * read. The batch first reads what is known (the facts the rules decide
 * on, kept to report the binding's event); then each write is an
 * `INSERT … SELECT` or `UPDATE` whose condition is a binding rule, in the
 * rules' order (src/identity/binding.ts states them; a test holds the SQL
 * and that function to the same answers); then the caller's rows, which
 * name the user through the identity row; last, the user read back. A
 * concurrent first login of the same person is serialized by D1 and finds
 * the first one's rows; a link by phone number checks that no other WeChat
 * account holds the user in the same transaction that links it.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { planBinding, type Known, type KnownUser } from '../identity/binding';
import type { Subject } from '../types';
import type { WeChatIdentity } from '../wechat';
import { randomId } from '../crypto';
import { forBatch, preparedOnce, type Db } from './db';
import { auditLog, users, wechatIdentities, wechatUnionids } from './schema';
import { subjectColumns, toSubject } from './subjects';

const userColumns = {
  id: users.id,
  phoneNumber: users.phoneNumber,
  nickname: users.nickname,
  picture: users.picture,
};

const NO_MATCH = '\u0000';

/**
 * A login's batch is built once per database with these placeholders, then
 * only bound (src/store/db.ts forBatch): drizzle does not build its dozen
 * statements again on every login.
 */
const p = {
  appid: sql.placeholder('appid'),
  openid: sql.placeholder('openid'),
  /** The login's unionid, or NULL. */
  unionid: sql.placeholder('unionid'),
  /** The login's unionid, or a value no row holds (for equality lookups). */
  unionidKey: sql.placeholder('unionidKey'),
  phone: sql.placeholder('phone'),
  phoneKey: sql.placeholder('phoneKey'),
  nickname: sql.placeholder('nickname'),
  picture: sql.placeholder('picture'),
  now: sql.placeholder('now'),
  clientId: sql.placeholder('clientId'),
  newUserId: sql.placeholder('newUserId'),
  /** The audit details of the binding's events: created, linked by unionid, linked by phone number. */
  created: sql.placeholder('created'),
  linkedByUnionid: sql.placeholder('linkedByUnionid'),
  linkedByPhone: sql.placeholder('linkedByPhone'),
};

function bindingValues(login: WeChatIdentity, now: number, clientId: string, newUserId: string): Record<keyof typeof p, unknown> {
  const { appid } = login;
  return {
    appid,
    openid: login.openid,
    unionid: login.unionid ?? null,
    unionidKey: login.unionid ?? NO_MATCH,
    phone: login.phoneNumber ?? null,
    phoneKey: login.phoneNumber ?? NO_MATCH,
    nickname: login.nickname ?? null,
    picture: login.picture ?? null,
    now,
    clientId,
    newUserId,
    created: JSON.stringify({ appid }),
    linkedByUnionid: JSON.stringify({ appid, how: 'unionid' }),
    linkedByPhone: JSON.stringify({ appid, how: 'phone' }),
  };
}

/**
 * Whether another WeChat account holds `userId`: an openid in the login's app
 * (it is not the login's own, or rule 1 would have found it), or a unionid
 * that is not the login's.
 */
const claimedByAnother = (userId: SQL): SQL =>
  sql`(EXISTS (SELECT 1 FROM ${wechatIdentities} WHERE ${wechatIdentities.userId} = ${userId} AND ${wechatIdentities.appid} = ${p.appid})
    OR EXISTS (SELECT 1 FROM ${wechatUnionids} WHERE ${wechatUnionids.userId} = ${userId} AND ${wechatUnionids.unionid} IS NOT ${p.unionid}))`;

/** What D1 knows of the login's keys: the facts of the binding rules, read first in the batch. */
const knownQueries = (db: Db) =>
  [
    db
      .select({ ...userColumns, unionid: wechatIdentities.unionid })
      .from(wechatIdentities)
      .innerJoin(users, eq(users.id, wechatIdentities.userId))
      .where(and(eq(wechatIdentities.appid, p.appid), eq(wechatIdentities.openid, p.openid))),
    db.select(userColumns).from(wechatUnionids).innerJoin(users, eq(users.id, wechatUnionids.userId)).where(eq(wechatUnionids.unionid, p.unionidKey)),
    db
      .select({ ...userColumns, claimed: sql<number>`${claimedByAnother(sql`${users.id}`)}`.as('claimed') })
      .from(users)
      .where(eq(users.phoneNumber, p.phoneKey)),
  ] as const;

type KnownRow = KnownUser & { unionid?: string | null; claimed?: number };

function toKnown([identity = [], byUnionid = [], byPhone = []]: KnownRow[][]): Known {
  const found = identity[0];
  const phoneUser = byPhone[0];
  return {
    identity: found && { user: toKnownUser(found), unionid: found.unionid ?? null },
    byUnionid: byUnionid[0] && toKnownUser(byUnionid[0]),
    byPhone: phoneUser && { ...toKnownUser(phoneUser), claimed: phoneUser.claimed === 1 },
  };
}

const toKnownUser = ({ id, phoneNumber, nickname, picture }: KnownUser): KnownUser => ({ id, phoneNumber, nickname, picture });

/** Whether the bridge knows this WeChat account: its (appid, openid), or its unionid. One round trip. */
export async function isKnownWeChatAccount(db: Db, login: WeChatIdentity): Promise<boolean> {
  const [byOpenid, byUnionid] = await db.batch([
    db
      .select({ userId: wechatIdentities.userId })
      .from(wechatIdentities)
      .where(and(eq(wechatIdentities.appid, login.appid), eq(wechatIdentities.openid, login.openid))),
    db.select({ userId: wechatUnionids.userId }).from(wechatUnionids).where(eq(wechatUnionids.unionid, login.unionid ?? NO_MATCH)),
  ]);
  return byOpenid.length > 0 || byUnionid.length > 0;
}


/** How a login's WeChat account became the user's, when this login made it so: a new user, or a link to one. */
export type Binding = { event: 'user.created' } | { event: 'user.linked'; how: 'unionid' | 'phone' };

/** A login, bound: the user as the batch left it, and the binding it made, if any. */
export interface Bound {
  subject: Subject;
  binding?: Binding;
}

/**
 * The binding's writes, each guarded by its rule. `newUserId` is the id a
 * new person gets (rule 4). The rules' subjects, as SQL: the user of the
 * login's identity row (rule 1; after these writes, the bound user), of its
 * unionid (rule 2), of its phone number if no other WeChat account holds
 * that user (rule 3).
 */
function bindingWrites(db: Db) {
  const identityUser = identityUserOf(p.appid, p.openid);
  const unionidUser = sql`(SELECT ${wechatUnionids.userId} FROM ${wechatUnionids} WHERE ${wechatUnionids.unionid} = ${p.unionidKey})`;
  const phoneUser = sql`(SELECT ${users.id} FROM ${users} WHERE ${users.phoneNumber} = ${p.phoneKey} AND NOT ${claimedByAnother(sql`${users.id}`)})`;
  const linkedTo = sql`COALESCE(${unionidUser}, ${phoneUser})`;
  const phoneTaken = (byAnotherThan: SQL) => sql`EXISTS (SELECT 1 FROM ${users} AS other WHERE other.phone_number = ${p.phone} AND other.id IS NOT ${byAnotherThan})`;
  const audit = (event: Binding['event'], userId: SQL, detail: SQL, when: SQL) =>
    db.insert(auditLog).select(sql`SELECT NULL, ${p.now}, ${event}, 'user', ${userId}, ${p.clientId}, ${detail} WHERE ${when}`);
  const phoneFree = sql`${p.phone} IS NOT NULL AND NOT ${phoneTaken(sql`${users.id}`)}`;

  return [
    // The events first, while the facts are as the rules saw them (docs/protocol.md "The audit log").
    audit('user.created', sql`${p.newUserId}`, sql`${p.created}`, sql`COALESCE(${identityUser}, ${linkedTo}) IS NULL`),
    audit('user.linked', linkedTo, sql`CASE WHEN ${unionidUser} IS NOT NULL THEN ${p.linkedByUnionid} ELSE ${p.linkedByPhone} END`, sql`${identityUser} IS NULL AND ${linkedTo} IS NOT NULL`),
    // Rule 4: nobody matched. A number another user holds stays theirs.
    db.insert(users).select(sql`SELECT ${p.newUserId}, CASE WHEN ${phoneTaken(sql`NULL`)} THEN NULL ELSE ${p.phone} END, ${p.nickname}, ${p.picture}, ${p.now}, ${p.now}
      WHERE COALESCE(${identityUser}, ${linkedTo}) IS NULL`),
    // Rules 2 to 4 for an account seen for the first time: the unionid's user, the phone's, or the new one.
    db.insert(wechatIdentities).select(sql`SELECT ${p.appid}, ${p.openid}, NULL, COALESCE(${linkedTo}, ${p.newUserId}), ${p.now} WHERE ${identityUser} IS NULL`),
    // A unionid nobody holds becomes the user's; one held by somebody else is not attached (users are never merged).
    db.insert(wechatUnionids).select(sql`SELECT ${p.unionid}, ${identityUser}
      WHERE ${p.unionid} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${wechatUnionids} WHERE ${wechatUnionids.unionid} = ${p.unionid})`),
    db
      .update(wechatIdentities)
      .set({ unionid: sql`${p.unionid}` })
      .where(
        and(
          eq(wechatIdentities.appid, p.appid),
          eq(wechatIdentities.openid, p.openid),
          sql`${wechatIdentities.unionid} IS NULL`,
          sql`EXISTS (SELECT 1 FROM ${wechatUnionids} WHERE ${wechatUnionids.unionid} = ${p.unionid} AND ${wechatUnionids.userId} = ${wechatIdentities.userId})`,
        ),
      ),
    // A user found (not made) takes what WeChat vouches for now: a number nobody else holds, a newer nickname or picture.
    db
      .update(users)
      .set({
        phoneNumber: sql`CASE WHEN ${phoneFree} THEN ${p.phone} ELSE ${users.phoneNumber} END`,
        nickname: sql`COALESCE(${p.nickname}, ${users.nickname})`,
        picture: sql`COALESCE(${p.picture}, ${users.picture})`,
        updatedAt: sql`${p.now}`,
      })
      .where(
        sql`${users.id} = ${identityUser} AND ${users.id} <> ${p.newUserId}
          AND ((${phoneFree} AND ${users.phoneNumber} IS NOT ${p.phone})
            OR (${p.nickname} IS NOT NULL AND ${users.nickname} IS NOT ${p.nickname})
            OR (${p.picture} IS NOT NULL AND ${users.picture} IS NOT ${p.picture}))`,
      ),
  ] as const;
}

const identityUserOf = (appid: unknown, openid: unknown): SQL =>
  sql`(SELECT ${wechatIdentities.userId} FROM ${wechatIdentities} WHERE ${wechatIdentities.appid} = ${appid} AND ${wechatIdentities.openid} = ${openid})`;

/** The user a login's identity row names: for the caller's rows in the batch, after the binding's writes. */
export const boundUserId = (login: Pick<WeChatIdentity, 'appid' | 'openid'>): SQL => identityUserOf(login.appid, login.openid);

const boundSubject = (db: Db) =>
  db
    .select(subjectColumns)
    .from(wechatIdentities)
    .innerJoin(users, eq(users.id, wechatIdentities.userId))
    .where(and(eq(wechatIdentities.appid, p.appid), eq(wechatIdentities.openid, p.openid)));

/** The binding's statements, prepared once per database: the reads, the writes, the user read back. */
const bindingStatements = preparedOnce((db) => ({
  known: knownQueries(db).map((query) => query.prepare()),
  writes: bindingWrites(db).map((write) => write.prepare()),
  subject: boundSubject(db).prepare(),
}));

function bindingOf(plan: ReturnType<typeof planBinding>): Binding | undefined {
  if (plan.createUser) return { event: 'user.created' };
  if (plan.createIdentity) return { event: 'user.linked', how: plan.linkedByPhone ? 'phone' : 'unionid' };
  return undefined;
}

/**
 * Binds a login and writes `alongside` (the grant, the approval: rows that
 * name the user by `boundUserId(login)`) in one batch: one round trip.
 */
export async function bindLogin(db: Db, login: WeChatIdentity, now: number, clientId: string, alongside: BatchItem<'sqlite'>[] = []): Promise<Bound> {
  const newUserId = randomId(16);
  const values = bindingValues(login, now, clientId, newUserId);
  const { known, writes, subject: read } = bindingStatements(db);
  const [first, ...rest] = [...known, ...writes].map((statement) => forBatch(statement, values));
  const results = await db.batch([first!, ...rest, ...alongside, forBatch(read, values)]);
  const facts = toKnown(results.slice(0, known.length) as KnownRow[][]);
  const subject = toSubject((results.at(-1) as Awaited<ReturnType<typeof read.all>>)[0]!, login);
  // The rules as a pure function, on the facts the SQL saw: which event this login made.
  const binding = bindingOf(planBinding(login, facts, newUserId));
  return { subject: subject!, ...(binding && { binding }) };
}
