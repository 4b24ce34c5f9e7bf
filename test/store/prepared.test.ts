/**
 * Statements built once per database and then only bound (src/store/db.ts):
 * in a D1 batch beside drizzle's own builders, and on their own, they read
 * and write exactly what the same statements built on each request do.
 */
import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { database, forAll, forBatch, isUniqueViolation, preparedOnce } from '../../src/store/db';
import { sessions, users } from '../../src/store/schema';

const db = database(env.DB);
const id = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;

const p = (name: string) => sql.placeholder(name);
const userInsert = preparedOnce((d) =>
  d.insert(users).values({ id: p('id'), phoneNumber: null, nickname: p('nickname'), picture: null, createdAt: p('at'), updatedAt: p('at') }).prepare(),
);
// consents is a JSON column: the placeholder's value goes through drizzle's encoder.
const sessionInsert = preparedOnce((d) =>
  d
    .insert(sessions)
    .values({ idHash: p('idHash'), userId: p('userId'), wechatAppid: 'wx-app', wechatOpenid: 'o-1', authTime: 1, amr: 'wechat', consents: p('consents'), expiresAt: 2 })
    .prepare(),
);
const insertUser = (row: { id: string; nickname: string | null; at: number }) => forBatch(userInsert(db), row);
const userById = preparedOnce((d) => d.select({ id: users.id, nickname: users.nickname }).from(users).where(eq(users.id, sql.placeholder('id'))).prepare());

describe('statements prepared once', () => {
  it('are the same database for the same binding, and built once', () => {
    expect(database(env.DB)).toBe(db);
    expect(userById(db)).toBe(userById(db));
  });

  it('write and read in a batch as the builders do, a JSON column encoded and decoded', async () => {
    const [a, b] = [id('user'), id('user')];
    const consents = { 'client-1': 'openid profile' };
    const results = await db.batch([
      insertUser({ id: a, nickname: 'A', at: 1 }),
      db.insert(users).values({ id: b, phoneNumber: null, nickname: 'B', picture: null, createdAt: 1, updatedAt: 1 }),
      forBatch(sessionInsert(db), { idHash: id('session'), userId: a, consents }),
      forBatch(userById(db), { id: a }),
      db.select({ id: users.id, nickname: users.nickname }).from(users).where(eq(users.id, b)),
    ]);
    expect(results[3]).toEqual([{ id: a, nickname: 'A' }]);
    expect(results[4]).toEqual([{ id: b, nickname: 'B' }]);
    const [session] = await db.select().from(sessions).where(eq(sessions.userId, a));
    expect(session?.consents).toEqual(consents);
    const raw = await env.DB.prepare('SELECT consents FROM sessions WHERE user_id = ?').bind(a).first<{ consents: string }>();
    expect(JSON.parse(raw!.consents)).toEqual(consents);
  });

  it('bind each use to its own values, also side by side in one batch', async () => {
    const [a, b] = [id('user'), id('user')];
    await db.batch([
      insertUser({ id: a, nickname: 'first', at: 1 }),
      insertUser({ id: b, nickname: 'second', at: 2 }),
    ]);
    const [first, second, none] = await db.batch([forBatch(userById(db), { id: a }), forBatch(userById(db), { id: b }), forBatch(userById(db), { id: 'nobody' })]);
    expect(first).toEqual([{ id: a, nickname: 'first' }]);
    expect(second).toEqual([{ id: b, nickname: 'second' }]);
    expect(none).toEqual([]);
    expect(await db.batch(forAll([userById(db), userById(db)], { id: b }))).toEqual([[{ id: b, nickname: 'second' }], [{ id: b, nickname: 'second' }]]);
  });

  it('fail a batch as the builder would on a constraint, writing none of it', async () => {
    const [a, b] = [id('user'), id('user')];
    const row = (userId: string) => ({ id: userId, nickname: null, at: 3 });
    await db.batch([insertUser(row(a))]);
    const again = await db.batch([insertUser(row(b)), insertUser(row(a))]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isUniqueViolation(again)).toBe(true);
    expect(await userById(db).all({ id: b })).toEqual([]);
    expect(await userById(db).all({ id: a })).toEqual([{ id: a, nickname: null }]);
  });
});
