/**
 * A token's subject as one join away from whatever names it: the user row
 * and the unionid of the WeChat identity the login used. Columns carry
 * distinct names, so they survive D1 batches (whose rows are objects).
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Subject } from '../types';
import { users, wechatIdentities } from './schema';

export const subjectColumns = {
  subjectId: sql<string>`${users.id}`.as('subject_id'),
  phoneNumber: users.phoneNumber,
  nickname: users.nickname,
  picture: users.picture,
  unionid: wechatIdentities.unionid,
};

export interface SubjectRow {
  subjectId: string | null;
  phoneNumber: string | null;
  nickname: string | null;
  picture: string | null;
  unionid: string | null;
}

/** The join condition of the identity row that a (wechat_appid, wechat_openid) pair of columns names. */
export const identityNamedBy = (appid: SQLiteColumn, openid: SQLiteColumn): SQL =>
  and(eq(wechatIdentities.appid, appid), eq(wechatIdentities.openid, openid))!;

export function toSubject(row: SubjectRow, wechat: { appid: string; openid: string }): Subject | undefined {
  if (!row.subjectId) return undefined;
  return {
    id: row.subjectId,
    phoneNumber: row.phoneNumber,
    nickname: row.nickname,
    picture: row.picture,
    wechat: { ...wechat, unionid: row.unionid },
  };
}
