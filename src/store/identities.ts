/**
 * Identity bindings in D1 (docs/protocol.md §7). Reads what is known in one round
 * trip, lets src/identity/binding.ts decide, then writes the plan in one
 * batch (a transaction): the caller's, with the grant or approval the login
 * makes, so a binding costs no round trip of its own. Unique keys on (appid, openid), unionid and
 * phone_number make a concurrent first login fail its batch instead of
 * creating a second user; it then reads again and finds the winner. A link
 * by phone number alone re-checks in the batch that no other WeChat account
 * claimed the user meanwhile, and fails it likewise.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { planBinding, type Known, type KnownUser } from '../identity/binding';
import type { WeChatIdentity } from '../wechat';
import { randomId } from '../crypto';
import { auditStatement } from './audit';
import { isUniqueViolation, type Db } from './db';
import { users, wechatIdentities, wechatUnionids } from './schema';

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

/** The user id for a phone link's identity row, NULL (refused by NOT NULL, failing the batch) if the user was claimed meanwhile. */
const unlessClaimed = (userId: string, login: WeChatIdentity): SQL =>
  sql`CASE WHEN ${claimedByAnother(sql`${userId}`, login)} THEN NULL ELSE ${userId} END`;

/** D1 refused a phone link's identity row: another WeChat account claimed the user between the read and the write. */
const isClaimedMeanwhile = (error: unknown): boolean => {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if (/NOT NULL constraint failed: wechat_identities\.user_id/.test(cause.message)) return true;
  }
  return false;
};

async function readKnown(db: Db, login: WeChatIdentity): Promise<Known> {
  const [identity, byUnionid, byPhone] = await db.batch([
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
  ]);
  const found = identity[0];
  const phoneUser = byPhone[0];
  return {
    identity: found && { user: withoutUnionid(found), unionid: found.unionid },
    byUnionid: byUnionid[0],
    byPhone: phoneUser && { ...phoneUser, claimed: phoneUser.claimed === 1 },
  };
}

function withoutUnionid({ unionid: _, ...user }: KnownUser & { unionid: string | null }): KnownUser {
  return user;
}

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

const ATTEMPTS = 3;

/** How a login's WeChat account became the user's, when this login made it so: a new user, or a link to one. */
export type Binding = { event: 'user.created' } | { event: 'user.linked'; how: 'unionid' | 'phone' };

export interface Resolved {
  user: KnownUser;
  binding?: Binding;
}

function bindingOf(plan: ReturnType<typeof planBinding>): Binding | undefined {
  if (plan.createUser) return { event: 'user.created' };
  if (plan.createIdentity) return { event: 'user.linked', how: plan.linkedByPhone ? 'phone' : 'unionid' };
  return undefined;
}

/** The user a WeChat login is, and the statements that make it so (none when nothing changes). */
export interface UserPlan extends Resolved {
  writes: BatchItem<'sqlite'>[];
}

/**
 * Reads what is known of this login (one round trip) and plans its binding: the
 * user, and the writes (a new binding with its audit entry, for `clientId`) that
 * the caller commits, alone or in a batch of its own.
 */
async function planUser(db: Db, login: WeChatIdentity, now: number, clientId: string): Promise<UserPlan> {
  const plan = planBinding(login, await readKnown(db, login), randomId(16));
  const { user } = plan;
  const writes: BatchItem<'sqlite'>[] = [];
  if (plan.createUser) {
    writes.push(db.insert(users).values({ ...user, createdAt: now, updatedAt: now }));
  } else if (plan.setPhone || plan.updateProfile) {
    writes.push(
      db
        .update(users)
        .set({ phoneNumber: user.phoneNumber, nickname: user.nickname, picture: user.picture, updatedAt: now })
        .where(eq(users.id, user.id)),
    );
  }
  if (plan.createUnionid) writes.push(db.insert(wechatUnionids).values({ unionid: login.unionid!, userId: user.id }));
  if (plan.createIdentity) {
    writes.push(
      db.insert(wechatIdentities).values({
        appid: login.appid,
        openid: login.openid,
        unionid: plan.identityUnionid,
        userId: plan.linkedByPhone ? unlessClaimed(user.id, login) : user.id,
        createdAt: now,
      }),
    );
  } else if (plan.setIdentityUnionid) {
    writes.push(
      db
        .update(wechatIdentities)
        .set({ unionid: plan.identityUnionid })
        .where(and(eq(wechatIdentities.appid, login.appid), eq(wechatIdentities.openid, login.openid))),
    );
  }
  const binding = writes.length > 0 ? bindingOf(plan) : undefined;
  if (binding) {
    writes.push(
      auditStatement(
        db,
        binding.event === 'user.created'
          ? { event: binding.event, actor: 'user', userId: user.id, clientId, detail: { appid: login.appid } }
          : { event: binding.event, actor: 'user', userId: user.id, clientId, detail: { appid: login.appid, how: binding.how } },
        now,
      ),
    );
  }
  return { user, ...(binding && { binding }), writes };
}

/**
 * The user this WeChat login is, created or bound as the rules say:
 * `commit` writes the plan's statements first in its own batch (a
 * transaction), so the binding costs no round trip of its own. When a
 * concurrent login of the same person committed first (a unique key), or
 * another WeChat account took the user a phone link was for, the batch fails
 * as a whole: the login is read and planned again, and committed again.
 */
export async function withUser<T>(db: Db, login: WeChatIdentity, now: number, clientId: string, commit: (plan: UserPlan) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const plan = await planUser(db, login, now, clientId);
    try {
      return await commit(plan);
    } catch (error) {
      if (attempt >= ATTEMPTS || !(isUniqueViolation(error) || isClaimedMeanwhile(error))) throw error;
    }
  }
}

/** The user this WeChat login is, its binding written on its own (for callers with nothing to write with it). */
export async function resolveUser(db: Db, login: WeChatIdentity, now: number, clientId: string): Promise<Resolved> {
  return withUser(db, login, now, clientId, async ({ writes, ...resolved }) => {
    if (writes.length > 0) await db.batch(writes as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
    return resolved;
  });
}
