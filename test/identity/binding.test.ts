import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBinding, type BindingPlan, type Known, type KnownUser } from '../../src/identity/binding';
import type { WeChatIdentity } from '../../src/wechat';

const login = { appid: 'wxapp', openid: 'o1' };
const alice: KnownUser = { id: 'alice', phoneNumber: '+8613800000000', nickname: 'A', picture: null };
const bob: KnownUser = { id: 'bob', phoneNumber: null, nickname: null, picture: null };

describe('docs/protocol.md §7: binding rules', () => {
  it('1. an (appid, openid) seen before is that user', () => {
    const plan = planBinding({ ...login, unionid: 'u1' }, { identity: { user: alice, unionid: 'u1' } }, 'new');
    expect(plan).toMatchObject({ user: { id: 'alice' }, createUser: false, createIdentity: false, createUnionid: true, setPhone: false });
  });

  it('2. a known unionid binds the new openid to its user, before a phone number does', () => {
    const plan = planBinding({ ...login, unionid: 'u1', phoneNumber: '+8613800000000' }, { byUnionid: bob, byPhone: alice }, 'new');
    expect(plan).toMatchObject({ user: { id: 'bob', phoneNumber: null }, createUser: false, createIdentity: true, createUnionid: false, setPhone: false });
    expect(plan.identityUnionid).toBe('u1');
  });

  it('3. a verified phone number binds the new openid to the user with that number', () => {
    const plan = planBinding({ ...login, unionid: 'u9', phoneNumber: '+8613800000000' }, { byPhone: alice }, 'new');
    expect(plan).toMatchObject({ user: { id: 'alice' }, createUser: false, createIdentity: true, createUnionid: true });
  });

  it('4. otherwise a new user, with the verified number', () => {
    const plan = planBinding({ ...login, phoneNumber: '+8613900000000', nickname: 'N' }, {}, 'new');
    expect(plan).toMatchObject({ user: { id: 'new', phoneNumber: '+8613900000000', nickname: 'N' }, createUser: true, createIdentity: true, createUnionid: false });
  });

  it('never merges: a unionid or phone of someone else is not attached to the identity user', () => {
    const plan = planBinding(
      { ...login, unionid: 'u-bob', phoneNumber: '+8613800000000' },
      { identity: { user: bob, unionid: null }, byUnionid: { ...alice, id: 'carol' }, byPhone: alice },
      'new',
    );
    expect(plan).toMatchObject({ user: { id: 'bob', phoneNumber: null }, setPhone: false, createUnionid: false, setIdentityUnionid: false });
  });

  it('records a newly verified number and a changed profile on a known user', () => {
    const plan = planBinding({ ...login, phoneNumber: '+8613100000000', nickname: 'B2' }, { identity: { user: bob, unionid: null } }, 'new');
    expect(plan).toMatchObject({ user: { id: 'bob', phoneNumber: '+8613100000000', nickname: 'B2' }, setPhone: true, updateProfile: true });
  });

  it('writes nothing for a returning user with nothing new', () => {
    const plan = planBinding(login, { identity: { user: alice, unionid: null } }, 'new');
    expect(plan).toMatchObject({ createUser: false, createIdentity: false, createUnionid: false, setPhone: false, updateProfile: false, setIdentityUnionid: false });
  });
});

const carol: KnownUser = { id: 'carol', phoneNumber: '+8613700000000', nickname: 'C', picture: 'https://wx.qlogo.cn/carol' };
const P_A = alice.phoneNumber!;
const P_C = carol.phoneNumber!;
const P_NEW = '+8613100000000';
const fresh: KnownUser = { id: 'new', phoneNumber: null, nickname: null, picture: null };

/** A plan that writes nothing but what `changes` says. */
const plan = (user: KnownUser, changes: Partial<BindingPlan> = {}): BindingPlan => ({
  user,
  createUser: false,
  createIdentity: false,
  linkedByPhone: false,
  identityUnionid: null,
  setIdentityUnionid: false,
  createUnionid: false,
  setPhone: false,
  updateProfile: false,
  ...changes,
});

type Row = [string, Partial<WeChatIdentity>, Known, BindingPlan];

describe.each<[string, Row[]]>([
  [
    'docs/protocol.md §7 rule 1: an (appid, openid) seen before is that user',
    [
      ['nothing new', {}, { identity: { user: alice, unionid: null } }, plan(alice)],
      ['its known unionid again', { unionid: 'u1' }, { identity: { user: alice, unionid: 'u1' }, byUnionid: alice }, plan(alice, { identityUnionid: 'u1' })],
      ['a first unionid is recorded on the identity and for the user', { unionid: 'u1' }, { identity: { user: alice, unionid: null } }, plan(alice, { identityUnionid: 'u1', setIdentityUnionid: true, createUnionid: true })],
      ['a unionid the user already has is recorded on the identity only', { unionid: 'u1' }, { identity: { user: alice, unionid: null }, byUnionid: alice }, plan(alice, { identityUnionid: 'u1', setIdentityUnionid: true })],
      ['before a unionid of someone else, which is not attached', { unionid: 'u-bob' }, { identity: { user: alice, unionid: null }, byUnionid: bob }, plan(alice)],
      ['keeps the identity row unionid when the login carries one of someone else', { unionid: 'u-bob' }, { identity: { user: alice, unionid: 'u-old' }, byUnionid: bob }, plan(alice, { identityUnionid: 'u-old' })],
      ['before a phone of someone else, which is not attached', { phoneNumber: P_C }, { identity: { user: alice, unionid: null }, byPhone: carol }, plan(alice)],
      ['a newly verified number replaces the older one', { phoneNumber: P_NEW }, { identity: { user: alice, unionid: null } }, plan({ ...alice, phoneNumber: P_NEW }, { setPhone: true })],
      ['a first verified number is recorded', { phoneNumber: P_NEW }, { identity: { user: bob, unionid: null } }, plan({ ...bob, phoneNumber: P_NEW }, { setPhone: true })],
      ['the number the user already has writes nothing', { phoneNumber: P_A }, { identity: { user: alice, unionid: null }, byPhone: alice }, plan(alice)],
      ['a new nickname updates the profile', { nickname: 'A2' }, { identity: { user: alice, unionid: null } }, plan({ ...alice, nickname: 'A2' }, { updateProfile: true })],
      ['the same nickname writes nothing', { nickname: 'A' }, { identity: { user: alice, unionid: null } }, plan(alice)],
      ['a new picture updates the profile and keeps the nickname', { picture: 'https://wx.qlogo.cn/a2' }, { identity: { user: alice, unionid: null } }, plan({ ...alice, picture: 'https://wx.qlogo.cn/a2' }, { updateProfile: true })],
      ['a login without a profile keeps the old one', {}, { identity: { user: carol, unionid: null } }, plan(carol)],
      [
        'never merges: unionid of bob and phone of carol stay theirs, the profile still updates',
        { unionid: 'u-bob', phoneNumber: P_C, nickname: 'A3' },
        { identity: { user: alice, unionid: null }, byUnionid: bob, byPhone: carol },
        plan({ ...alice, nickname: 'A3' }, { updateProfile: true }),
      ],
    ],
  ],
  [
    'docs/protocol.md §7 rule 2: a known unionid binds the new openid to its user',
    [
      ['a new openid of a known unionid', { unionid: 'u1' }, { byUnionid: bob }, plan(bob, { createIdentity: true, identityUnionid: 'u1' })],
      ['before a phone number, which belongs to someone else and is not attached', { unionid: 'u1', phoneNumber: P_A }, { byUnionid: bob, byPhone: alice }, plan(bob, { createIdentity: true, identityUnionid: 'u1' })],
      ['with a free verified number, recorded for that user', { unionid: 'u1', phoneNumber: P_NEW }, { byUnionid: bob }, plan({ ...bob, phoneNumber: P_NEW }, { createIdentity: true, identityUnionid: 'u1', setPhone: true })],
      ['with a profile, which updates that user', { unionid: 'u1', nickname: 'B', picture: 'https://wx.qlogo.cn/b' }, { byUnionid: bob }, plan({ ...bob, nickname: 'B', picture: 'https://wx.qlogo.cn/b' }, { createIdentity: true, identityUnionid: 'u1', updateProfile: true })],
      ['only when the login carries a unionid', {}, { byUnionid: bob }, plan(fresh, { createUser: true, createIdentity: true })],
    ],
  ],
  [
    'docs/protocol.md §7 rule 3: a verified phone number binds the new openid to its user',
    [
      ['a new openid with a known number', { phoneNumber: P_A }, { byPhone: alice }, plan(alice, { createIdentity: true, linkedByPhone: true })],
      ['with a new unionid, recorded for that user', { phoneNumber: P_A, unionid: 'u9' }, { byPhone: alice }, plan(alice, { createIdentity: true, linkedByPhone: true, identityUnionid: 'u9', createUnionid: true })],
      ['with a profile, which updates that user', { phoneNumber: P_C, nickname: 'C2' }, { byPhone: carol }, plan({ ...carol, nickname: 'C2' }, { createIdentity: true, linkedByPhone: true, updateProfile: true })],
      ['only when the login carries a number', {}, { byPhone: alice }, plan(fresh, { createUser: true, createIdentity: true })],
      ['not when another openid of the same app holds that user (the number was recycled)', { phoneNumber: P_A }, { byPhone: { ...alice, claimed: true } }, plan(fresh, { createUser: true, createIdentity: true })],
      ['not when another unionid holds that user, and the newcomer gets no number of someone else', { phoneNumber: P_A, unionid: 'u9' }, { byPhone: { ...alice, claimed: true } }, plan(fresh, { createUser: true, createIdentity: true, identityUnionid: 'u9', createUnionid: true })],
    ],
  ],
  [
    'docs/protocol.md §7 rule 4: otherwise a new user',
    [
      ['with nothing but an openid', {}, {}, plan(fresh, { createUser: true, createIdentity: true })],
      ['with a unionid', { unionid: 'u2' }, {}, plan(fresh, { createUser: true, createIdentity: true, identityUnionid: 'u2', createUnionid: true })],
      [
        'with everything, written as the user is created (no separate phone or profile update)',
        { unionid: 'u2', phoneNumber: P_NEW, nickname: 'N', picture: 'https://wx.qlogo.cn/n' },
        {},
        plan({ id: 'new', phoneNumber: P_NEW, nickname: 'N', picture: 'https://wx.qlogo.cn/n' }, { createUser: true, createIdentity: true, identityUnionid: 'u2', createUnionid: true }),
      ],
    ],
  ],
])('%s', (_, rows) => {
  it.each(rows)('%s', (__, login, known, expected) => {
    expect(planBinding({ appid: 'wxapp', openid: 'o1', ...login }, known, 'new')).toEqual(expected);
  });
});

describe('docs/protocol.md §7: two existing users are never merged, whatever D1 holds', () => {
  const user = fc.record({
    id: fc.constantFrom('alice', 'bob', 'carol'),
    phoneNumber: fc.option(fc.constantFrom(P_A, P_C, P_NEW), { nil: null }),
    nickname: fc.option(fc.constantFrom('A', 'B'), { nil: null }),
    picture: fc.constant(null),
  });
  const login = fc.record(
    {
      unionid: fc.constantFrom('u1', 'u2'),
      phoneNumber: fc.constantFrom(P_A, P_C, P_NEW),
      nickname: fc.constantFrom('A', 'N'),
    },
    { requiredKeys: [] },
  );
  const known = fc.record(
    { identity: fc.record({ user, unionid: fc.option(fc.constantFrom('u1', 'u2'), { nil: null }) }), byUnionid: user, byPhone: user },
    { requiredKeys: [] },
  );

  it('the seen identity decides; a unionid or number of another user is never attached', () => {
    fc.assert(
      fc.property(login, known, (partial, knows) => {
        const result = planBinding({ appid: 'wxapp', openid: 'o1', ...partial }, knows, 'new');
        const chosen = knows.identity?.user ?? (partial.unionid ? knows.byUnionid : undefined) ?? (partial.phoneNumber ? knows.byPhone : undefined);
        expect(result.user.id).toBe(chosen?.id ?? 'new');
        expect(result.createUser).toBe(chosen === undefined);
        expect(result.createIdentity).toBe(knows.identity === undefined);
        // Only a link by the number alone re-checks the claim when it writes.
        expect(result.linkedByPhone).toBe(chosen !== undefined && chosen === knows.byPhone && !knows.identity && !(partial.unionid && knows.byUnionid));
        // The unionid goes to the chosen user only if nobody else has it.
        if (knows.byUnionid && knows.byUnionid.id !== result.user.id) {
          expect(result.createUnionid).toBe(false);
          expect(result.setIdentityUnionid).toBe(false);
          expect(result.identityUnionid).toBe(knows.identity?.unionid ?? null);
        }
        if (result.createUnionid) expect(knows.byUnionid).toBeUndefined();
        // The number goes to the chosen user only if nobody else has it.
        if (knows.byPhone && knows.byPhone.id !== result.user.id) {
          expect(result.setPhone).toBe(false);
          expect(result.user.phoneNumber).toBe(chosen?.phoneNumber ?? null);
        }
        if (result.setPhone) expect(result.user.phoneNumber).toBe(partial.phoneNumber);
      }),
      { numRuns: 500 },
    );
  });
});
