/** Reading a user as a token subject: the user row and the unionid of the WeChat identity used. */
import { and, eq } from 'drizzle-orm';
import type { Subject } from '../tokens/claims';
import type { Db } from './db';
import { users, wechatIdentities } from './schema';

export async function findSubject(db: Db, userId: string, wechat: { appid: string; openid: string }): Promise<Subject | undefined> {
  const row = await db
    .select({
      id: users.id,
      phoneNumber: users.phoneNumber,
      nickname: users.nickname,
      picture: users.picture,
      unionid: wechatIdentities.unionid,
    })
    .from(users)
    .leftJoin(wechatIdentities, and(eq(wechatIdentities.appid, wechat.appid), eq(wechatIdentities.openid, wechat.openid)))
    .where(eq(users.id, userId))
    .get();
  if (!row) return undefined;
  const { unionid, ...user } = row;
  return { ...user, wechat: { ...wechat, unionid } };
}
