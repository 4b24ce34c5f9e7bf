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
import type { Db } from './db';
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
 * Whether another WeChat account holds `userId`: an openid in the login's app
 * (it is not the login's own, or rule 1 would have found it), or a unionid
 * that is not the login's.
 */
const claimedByAnother = (userId: SQL, login: WeChatIdentity): SQL =>
  sql`(EXISTS (SELECT 1 FROM ${wechatIdentities} WHERE ${wechatIdentities.userId} = ${userId} AND ${wechatIdentities.appid} = ${login.appid})
    OR EXISTS (SELECT 1 FROM ${wechatUnionids} WHERE ${wechatUnionids.userId} = ${userId} AND ${wechatUnionids.unionid} IS NOT ${login.unionid ?? null}))`;

/** What D1 knows of the login's keys: the facts of the binding rules, read first in the batch. */
const knownQueries = (db: Db, login: WeChatIdentity) =>
  [
    db
      .select({ ...userColumns, unionid: wechatIdentities.unionid })
      .from(wechatIdentities)
      .innerJoin(users, eq(users.id, wechatIdentities.userId))
      .where(and(eq(wechatIdentities.appid, login.appid), eq(wechatIdentities.openid, login.openid))),
    db
      .select(userColumns)
      .from(wechatUnionids)
      .innerJoin(users, eq(users.id, wechatUnionids.userId))
      .where(eq(wechatUnionids.unionid, login.unionid ?? NO_MATCH)),
    db
      .select({ ...userColumns, claimed: sql<number>`${claimedByAnother(sql`${users.id}`, login)}`.as('claimed') })
      .from(users)
      .where(eq(users.phoneNumber, login.phoneNumber ?? NO_MATCH)),
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
function bindingWrites(db: Db, login: WeChatIdentity, now: number, clientId: string, newUserId: string): BatchItem<'sqlite'>[] {
  const { appid, openid } = login;
  const unionid = login.unionid ?? null;
  const phone = login.phoneNumber ?? null;
  const nickname = login.nickname ?? null;
  const picture = login.picture ?? null;
  const identityUser = boundUserId(login);
  const unionidUser = sql`(SELECT ${wechatUnionids.userId} FROM ${wechatUnionids} WHERE ${wechatUnionids.unionid} = ${unionid ?? NO_MATCH})`;
  const phoneUser = sql`(SELECT ${users.id} FROM ${users} WHERE ${users.phoneNumber} = ${phone ?? NO_MATCH} AND NOT ${claimedByAnother(sql`${users.id}`, login)})`;
  const linkedTo = sql`COALESCE(${unionidUser}, ${phoneUser})`;
  const phoneTaken = (byAnotherThan: SQL) => sql`EXISTS (SELECT 1 FROM ${users} AS other WHERE other.phone_number = ${phone} AND other.id IS NOT ${byAnotherThan})`;
  const audit = (event: Binding['event'], userId: SQL | string, detail: SQL, when: SQL) =>
    db.insert(auditLog).select(sql`SELECT NULL, ${now}, ${event}, 'user', ${userId}, ${clientId}, ${detail} WHERE ${when}`);
  const detail = (how?: Extract<Binding, { event: 'user.linked' }>['how']) => JSON.stringify(how ? { appid, how } : { appid });
  const phoneFree = sql`${phone} IS NOT NULL AND NOT ${phoneTaken(sql`${users.id}`)}`;

  return [
    // The events first, while the facts are as the rules saw them (docs/protocol.md "The audit log").
    audit('user.created', newUserId, sql`${detail()}`, sql`COALESCE(${identityUser}, ${linkedTo}) IS NULL`),
    audit('user.linked', linkedTo, sql`CASE WHEN ${unionidUser} IS NOT NULL THEN ${detail('unionid')} ELSE ${detail('phone')} END`, sql`${identityUser} IS NULL AND ${linkedTo} IS NOT NULL`),
    // Rule 4: nobody matched. A number another user holds stays theirs.
    db.insert(users).select(sql`SELECT ${newUserId}, CASE WHEN ${phoneTaken(sql`NULL`)} THEN NULL ELSE ${phone} END, ${nickname}, ${picture}, ${now}, ${now}
      WHERE COALESCE(${identityUser}, ${linkedTo}) IS NULL`),
    // Rules 2 to 4 for an account seen for the first time: the unionid's user, the phone's, or the new one.
    db.insert(wechatIdentities).select(sql`SELECT ${appid}, ${openid}, NULL, COALESCE(${linkedTo}, ${newUserId}), ${now} WHERE ${identityUser} IS NULL`),
    // A unionid nobody holds becomes the user's; one held by somebody else is not attached (users are never merged).
    db.insert(wechatUnionids).select(sql`SELECT ${unionid}, ${identityUser}
      WHERE ${unionid} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${wechatUnionids} WHERE ${wechatUnionids.unionid} = ${unionid})`),
    db
      .update(wechatIdentities)
      .set({ unionid })
      .where(
        and(
          eq(wechatIdentities.appid, appid),
          eq(wechatIdentities.openid, openid),
          sql`${wechatIdentities.unionid} IS NULL`,
          sql`EXISTS (SELECT 1 FROM ${wechatUnionids} WHERE ${wechatUnionids.unionid} = ${unionid} AND ${wechatUnionids.userId} = ${wechatIdentities.userId})`,
        ),
      ),
    // A user found (not made) takes what WeChat vouches for now: a number nobody else holds, a newer nickname or picture.
    db
      .update(users)
      .set({
        phoneNumber: sql`CASE WHEN ${phoneFree} THEN ${phone} ELSE ${users.phoneNumber} END`,
        nickname: sql`COALESCE(${nickname}, ${users.nickname})`,
        picture: sql`COALESCE(${picture}, ${users.picture})`,
        updatedAt: now,
      })
      .where(
        sql`${users.id} = ${identityUser} AND ${users.id} <> ${newUserId}
          AND ((${phoneFree} AND ${users.phoneNumber} IS NOT ${phone})
            OR (${nickname} IS NOT NULL AND ${users.nickname} IS NOT ${nickname})
            OR (${picture} IS NOT NULL AND ${users.picture} IS NOT ${picture}))`,
      ),
  ];
}

/** The user a login's identity row names: for the caller's rows in the batch, after the binding's writes. */
export const boundUserId = (login: Pick<WeChatIdentity, 'appid' | 'openid'>): SQL =>
  sql`(SELECT ${wechatIdentities.userId} FROM ${wechatIdentities} WHERE ${wechatIdentities.appid} = ${login.appid} AND ${wechatIdentities.openid} = ${login.openid})`;

const boundSubject = (db: Db, login: WeChatIdentity) =>
  db
    .select(subjectColumns)
    .from(wechatIdentities)
    .innerJoin(users, eq(users.id, wechatIdentities.userId))
    .where(and(eq(wechatIdentities.appid, login.appid), eq(wechatIdentities.openid, login.openid)));

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
  const known = knownQueries(db, login);
  const results = await db.batch([...known, ...bindingWrites(db, login, now, clientId, newUserId), ...alongside, boundSubject(db, login)]);
  const facts = toKnown(results.slice(0, known.length) as KnownRow[][]);
  const subject = toSubject((results.at(-1) as Awaited<ReturnType<ReturnType<typeof boundSubject>['all']>>)[0]!, login);
  // The rules as a pure function, on the facts the SQL saw: which event this login made.
  const binding = bindingOf(planBinding(login, facts, newUserId));
  return { subject: subject!, ...(binding && { binding }) };
}
