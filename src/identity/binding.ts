/**
 * Who a WeChat login is (docs/protocol.md §7), decided as a pure function of what D1
 * already knows. The rules, in order:
 *   1. an (appid, openid) seen before is that user;
 *   2. else a known unionid binds the new openid to its user;
 *   3. else a verified phone number binds it to the user with that number,
 *      unless another WeChat account has claimed that user (phone numbers
 *      are recycled: the login is then somebody new);
 *   4. else a new user.
 * Two existing users are never merged: a unionid or phone number that
 * already belongs to someone else is simply not attached.
 */
import type { WeChatIdentity } from '../wechat';

export interface KnownUser {
  id: string;
  phoneNumber: string | null;
  nickname: string | null;
  picture: string | null;
}

/** What D1 holds for the login's keys, read before deciding. */
export interface Known {
  identity?: { user: KnownUser; unionid: string | null };
  byUnionid?: KnownUser;
  /**
   * The user with the login's phone number. `claimed`: another WeChat account
   * already holds that user (an openid in the login's app, or another
   * unionid), so the number, which WeChat recycles, proves nothing about them.
   */
  byPhone?: KnownUser & { claimed?: boolean };
}

/** The writes that make D1 agree with the decision; each guarded by a unique constraint. */
export interface BindingPlan {
  user: KnownUser;
  createUser: boolean;
  createIdentity: boolean;
  /**
   * Bound by the phone number alone (rule 3): the write must find the user
   * still unclaimed, or two WeChat accounts verifying one number at once
   * would both take it.
   */
  linkedByPhone: boolean;
  /** The unionid the identity row carries: the login's, unless it belongs to someone else. */
  identityUnionid: string | null;
  /** Record the unionid on an existing identity row (it was unknown before). */
  setIdentityUnionid: boolean;
  createUnionid: boolean;
  setPhone: boolean;
  updateProfile: boolean;
}

export function planBinding(login: WeChatIdentity, known: Known, newUserId: string): BindingPlan {
  const phoneUser = login.phoneNumber && known.byPhone && !known.byPhone.claimed ? toKnownUser(known.byPhone) : undefined;
  const matched = known.identity?.user ?? (login.unionid ? known.byUnionid : undefined) ?? phoneUser;
  const base: KnownUser = matched ?? { id: newUserId, phoneNumber: null, nickname: null, picture: null };

  const unionidFree = login.unionid !== undefined && (!known.byUnionid || known.byUnionid.id === base.id);
  const phoneFree = login.phoneNumber !== undefined && (!known.byPhone || known.byPhone.id === base.id);
  // A newly verified number replaces an older one: it is what WeChat vouches for now.
  const setPhone = phoneFree && base.phoneNumber !== login.phoneNumber;
  const nickname = login.nickname ?? base.nickname;
  const picture = login.picture ?? base.picture;
  const updateProfile = matched !== undefined && (nickname !== base.nickname || picture !== base.picture);

  return {
    user: { id: base.id, phoneNumber: setPhone ? login.phoneNumber! : base.phoneNumber, nickname, picture },
    createUser: matched === undefined,
    createIdentity: known.identity === undefined,
    linkedByPhone: phoneUser !== undefined && matched === phoneUser,
    identityUnionid: unionidFree ? login.unionid! : (known.identity?.unionid ?? null),
    setIdentityUnionid: known.identity !== undefined && known.identity.unionid === null && unionidFree,
    createUnionid: unionidFree && !known.byUnionid,
    setPhone: setPhone && matched !== undefined,
    updateProfile,
  };
}

const toKnownUser = ({ id, phoneNumber, nickname, picture }: KnownUser): KnownUser => ({ id, phoneNumber, nickname, picture });
