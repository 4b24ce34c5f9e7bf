import { describe, expect, it } from 'vitest';
import { planBinding, type KnownUser } from '../../src/identity/binding';

const login = { appid: 'wxapp', openid: 'o1' };
const alice: KnownUser = { id: 'alice', phoneNumber: '+8613800000000', nickname: 'A', picture: null };
const bob: KnownUser = { id: 'bob', phoneNumber: null, nickname: null, picture: null };

describe('binding rules (SPEC.md §7)', () => {
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
