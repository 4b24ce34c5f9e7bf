/**
 * The binding rules are written twice: as a pure function (src/identity/binding.ts,
 * which states them) and as the guarded SQL that applies them inside a login's own
 * batch (src/store/identities.ts). For arbitrary D1 contents and logins, real D1
 * must end where the function says: the same user, number, profile, unionids and
 * audit entries, and nobody else touched.
 */
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBinding, type Known, type KnownUser } from '../../src/identity/binding';
import { database } from '../../src/store/db';
import { bindLogin } from '../../src/store/identities';
import type { WeChatIdentity } from '../../src/wechat';
import { uniqueId } from '../support/oidc';

const db = database(env.DB);
const sql = (query: string, ...values: unknown[]) => env.DB.prepare(query).bind(...values);

interface World {
  users: { phone: number | null; nickname: string | null; picture: string | null }[];
  /** openid → [user index, unionid index | null]; openids 0 and 1 are in the login's app, 2 in another. */
  identities: ([number, number | null] | null)[];
  /** unionid index → user index. */
  unionids: (number | null)[];
  login: { openid: number; unionid: number | null; phone: number | null; nickname: string | null; picture: string | null };
}

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null });
const userIndex = fc.integer({ min: 0, max: 2 });
const world: fc.Arbitrary<World> = fc.record({
  // Users 0..2 may hold numbers 0..2 (one each: numbers are unique); number 3 is nobody's.
  users: fc.tuple(...[0, 1, 2].map((i) => fc.record({ phone: maybe(fc.constant(i)), nickname: maybe(fc.constantFrom('A', 'B')), picture: maybe(fc.constant('https://wx.qlogo.cn/p')) }))),
  identities: fc.tuple(...[0, 1, 2].map(() => maybe(fc.tuple(userIndex, maybe(fc.integer({ min: 0, max: 1 })))))),
  unionids: fc.tuple(maybe(userIndex), maybe(userIndex)),
  login: fc.record({
    openid: fc.integer({ min: 0, max: 3 }),
    unionid: maybe(fc.integer({ min: 0, max: 2 })),
    phone: maybe(fc.integer({ min: 0, max: 3 })),
    nickname: maybe(fc.constantFrom('A', 'N')),
    picture: maybe(fc.constant('https://wx.qlogo.cn/n')),
  }),
});

/** Writes the world under fresh names; returns the names and the login. */
async function seed(w: World) {
  const ns = uniqueId('b');
  const names = {
    user: (i: number) => `${ns}-user${i}`,
    phone: (i: number) => `+86${ns}${i}`,
    openid: (i: number) => `${ns}-o${i}`,
    unionid: (i: number) => `${ns}-u${i}`,
    app: `${ns}-app`,
    otherApp: `${ns}-other`,
  };
  const statements = w.users.map((user, i) =>
    sql('INSERT INTO users (id, phone_number, nickname, picture, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0)', names.user(i), user.phone === null ? null : names.phone(user.phone), user.nickname, user.picture),
  );
  w.identities.forEach((identity, openid) => {
    if (!identity) return;
    const [user, unionid] = identity;
    statements.push(
      sql(
        'INSERT INTO wechat_identities (appid, openid, unionid, user_id, created_at) VALUES (?, ?, ?, ?, 0)',
        openid === 2 ? names.otherApp : names.app,
        names.openid(openid),
        unionid === null ? null : names.unionid(unionid),
        names.user(user),
      ),
    );
  });
  w.unionids.forEach((user, unionid) => {
    if (user !== null) statements.push(sql('INSERT INTO wechat_unionids (unionid, user_id) VALUES (?, ?)', names.unionid(unionid), names.user(user)));
  });
  await env.DB.batch(statements);
  const { login: l } = w;
  const login: WeChatIdentity = {
    appid: names.app,
    openid: names.openid(l.openid === 2 ? 3 : l.openid),
    ...(l.unionid !== null && { unionid: names.unionid(l.unionid) }),
    ...(l.phone !== null && { phoneNumber: names.phone(l.phone) }),
    ...(l.nickname !== null && { nickname: l.nickname }),
    ...(l.picture !== null && { picture: l.picture }),
  };
  return { names, login };
}

/** What the rules decide on, worked out from the world itself, not from D1. */
function knownOf(w: World, names: Awaited<ReturnType<typeof seed>>['names'], login: WeChatIdentity): Known {
  const user = (i: number): KnownUser => ({ id: names.user(i), phoneNumber: w.users[i]!.phone === null ? null : names.phone(w.users[i]!.phone!), nickname: w.users[i]!.nickname, picture: w.users[i]!.picture });
  const openid = w.login.openid === 2 ? 3 : w.login.openid;
  const own = openid < 2 ? w.identities[openid] : null;
  const unionidUser = w.login.unionid !== null && w.login.unionid < 2 ? w.unionids[w.login.unionid] : null;
  const phoneUser = w.login.phone === null ? -1 : w.users.findIndex((u) => u.phone === w.login.phone);
  const claimed = (i: number) =>
    w.identities.some((identity, o) => identity?.[0] === i && o < 2 && o !== openid) ||
    w.unionids.some((holder, u) => holder === i && names.unionid(u) !== login.unionid);
  return {
    ...(own && { identity: { user: user(own[0]), unionid: own[1] === null ? null : names.unionid(own[1]) } }),
    ...(unionidUser !== null && unionidUser !== undefined && { byUnionid: user(unionidUser) }),
    ...(phoneUser >= 0 && { byPhone: { ...user(phoneUser), claimed: claimed(phoneUser) } }),
  };
}

describe('the binding as SQL agrees with the binding rules', () => {
  it('for any D1 contents and any login: the same user, number, profile, unionids and audit entries', async () => {
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const { names, login } = await seed(w);
        const now = 1_700_000_000;
        const known = knownOf(w, names, login);
        const plan = planBinding(login, known, 'NEW');
        const before = await sql('SELECT id, phone_number, nickname, picture FROM users WHERE id LIKE ? ORDER BY id', `${names.user(0).slice(0, -1)}%`).all();

        const { subject, binding } = await bindLogin(db, login, now, 'client', []);

        const isNew = !before.results.some((row) => row.id === subject.id);
        expect(isNew).toBe(plan.createUser);
        if (!plan.createUser) expect(subject.id).toBe(plan.user.id);
        expect({ phoneNumber: subject.phoneNumber, nickname: subject.nickname, picture: subject.picture }).toEqual({
          phoneNumber: plan.user.phoneNumber,
          nickname: plan.user.nickname,
          picture: plan.user.picture,
        });
        const identity = await sql('SELECT unionid, user_id FROM wechat_identities WHERE appid = ? AND openid = ?', login.appid, login.openid).first();
        // The row carries the plan's unionid when the plan writes it; else the one it had.
        const unionid = plan.createIdentity || plan.setIdentityUnionid ? plan.identityUnionid : known.identity!.unionid;
        expect(identity).toEqual({ unionid, user_id: subject.id });
        expect(subject.wechat.unionid).toBe(unionid);
        if (login.unionid) {
          const holder = await sql('SELECT user_id FROM wechat_unionids WHERE unionid = ?', login.unionid).first<{ user_id: string }>();
          const held = w.login.unionid !== null && w.login.unionid < 2 ? w.unionids[w.login.unionid] : null;
          // A new unionid row is the bound user's; an existing one stays whose it was.
          expect(holder?.user_id).toBe(plan.createUnionid ? subject.id : held === null || held === undefined ? undefined : names.user(held));
        }
        // Nobody but the bound user changed.
        const after = await sql('SELECT id, phone_number, nickname, picture FROM users WHERE id LIKE ? ORDER BY id', `${names.user(0).slice(0, -1)}%`).all();
        expect(after.results.filter((row) => row.id !== subject.id)).toEqual(before.results.filter((row) => row.id !== subject.id));
        // The event the batch wrote is the one the rules name.
        const events = await sql("SELECT event, detail FROM audit_log WHERE user_id = ? AND at = ? AND event LIKE 'user.%'", subject.id, now).all<{ event: string; detail: string }>();
        const expected = plan.createUser ? { event: 'user.created' } : plan.createIdentity ? { event: 'user.linked', how: plan.linkedByPhone ? 'phone' : 'unionid' } : undefined;
        expect(binding).toEqual(expected);
        expect(events.results.map((row) => ({ event: row.event, ...(JSON.parse(row.detail) as { how?: string }) }))).toEqual(
          expected ? [{ ...expected, appid: login.appid }] : [],
        );
      }),
      { numRuns: 80 },
    );
  }, 60_000);
});
