/** The user claims each scope releases (docs/protocol.md §7), as a pure function. */
import type { Scope, Subject } from '../types';

export type UserClaims = Record<string, string | boolean>;

/**
 * `sub` is the one the client sees (OpenID Connect Core §8: the user's id,
 * or the client's pairwise identifier, src/identity/pairwise.ts).
 */
export function userClaims(sub: string, subject: Subject, scopes: readonly Scope[]): UserClaims {
  const claims: UserClaims = { sub };
  if (scopes.includes('profile')) {
    if (subject.nickname) {
      claims.name = subject.nickname;
      claims.nickname = subject.nickname;
    }
    if (subject.picture) claims.picture = subject.picture;
  }
  if (scopes.includes('phone') && subject.phoneNumber) {
    claims.phone_number = subject.phoneNumber;
    // A number reaches a token only through a WeChat login that verified it (getuserphonenumber):
    // an imported one (the admin API) links its user only to a login that verified that number.
    claims.phone_number_verified = true;
  }
  if (scopes.includes('wechat')) {
    claims.wechat_appid = subject.wechat.appid;
    claims.wechat_openid = subject.wechat.openid;
    if (subject.wechat.unionid) claims.wechat_unionid = subject.wechat.unionid;
  }
  return claims;
}
