import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { database } from '../../src/store/db';
import { pollDeviceCode, pollTooSoon, SLOW_DOWN_STEP, type DeviceCode, type DeviceIssue } from '../../src/store/device-codes';
import { isUniqueViolation } from '../../src/store/db';
import { auditLog, clients, deviceCodes, grants, loginApprovals, refreshTokens, singleUses, users, wechatIdentities } from '../../src/store/schema';
import type { ClientMetadata } from '../../src/types';

const db = database(env.DB);
const id = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;

const metadata: ClientMetadata = {
  redirect_uris: [],
  token_endpoint_auth_method: 'none',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
  response_types: [],
  application_type: 'native',
  post_logout_redirect_uris: [],
};

let clientId: string;
let otherClientId: string;

beforeAll(async () => {
  clientId = id('client');
  otherClientId = id('other');
  await db.batch([
    db.insert(clients).values({ clientId, secretHash: null, metadata, issuedAt: 1 }),
    db.insert(clients).values({ clientId: otherClientId, secretHash: null, metadata, issuedAt: 1 }),
  ]);
});

async function insertDevice(interval: number, lastPolledAt: number | null): Promise<DeviceCode> {
  const row: DeviceCode = {
    codeHash: id('code'),
    userCode: id('user-code'),
    clientId,
    scope: 'openid',
    interval,
    lastPolledAt,
    expiresAt: 2_000_000_000,
  };
  await db.insert(deviceCodes).values(row);
  return row;
}

const stored = async (codeHash: string) => (await db.select().from(deviceCodes).where(eq(deviceCodes.codeHash, codeHash)))[0];

describe('RFC 8628 §3.5: slow_down widens the interval by 5 seconds; pollTooSoon (TypeScript) and pollDeviceCode (SQL) agree', () => {
  it('the step is the 5 seconds of RFC 8628 §3.5', () => {
    expect(SLOW_DOWN_STEP).toBe(5);
  });

  it.each([
    // [case, interval, lastPolledAt, now, too soon]
    ['the first poll', 5, null, 1_000, false],
    ['the first poll, interval 0', 0, null, 1_000, false],
    ['exactly one interval later', 5, 1_000, 1_005, false],
    ['one second short of the interval', 5, 1_000, 1_004, true],
    ['in the same second', 5, 1_000, 1_000, true],
    ['long after', 5, 1_000, 1_000_000, false],
    ['a clock that went back a second', 5, 1_000, 999, true],
    ['a clock that went back far', 5, 1_000, 1, true],
    ['a widened interval, one second short', 10, 1_000, 1_009, true],
    ['a widened interval, exactly', 10, 1_000, 1_010, false],
    ['interval 0, the same second', 0, 1_000, 1_000, false],
    ['interval 1, the same second', 1, 1_000, 1_000, true],
    ['interval 1, one second later', 1, 1_000, 1_001, false],
    ['last polled at epoch 0 (falsy, not null)', 5, 0, 4, true],
    ['last polled at epoch 0, an interval later', 5, 0, 5, false],
    ['an hour-long interval, a second short', 3_600, 1_700_000_000, 1_700_003_599, true],
    ['an hour-long interval, exactly', 3_600, 1_700_000_000, 1_700_003_600, false],
    ['timestamps past 2^31', 5, 2 ** 31 + 10, 2 ** 31 + 12, true],
  ] as const)('%s (interval %i, last polled %s, now %i): too soon %s', async (_, interval, lastPolledAt, now, tooSoon) => {
    const before = await insertDevice(interval, lastPolledAt);
    expect(pollTooSoon(before, now)).toBe(tooSoon);

    const polled = await pollDeviceCode(db, before.codeHash, clientId, now);
    // The poll reads the code as it was before this poll.
    expect(polled?.device).toEqual(before);

    const after = await stored(before.codeHash);
    expect(after).toEqual({ ...before, interval: pollTooSoon(before, now) ? interval + SLOW_DOWN_STEP : interval, lastPolledAt: now });
  });

  it('polls in a row: each one too soon widens the interval once more, a patient one leaves it', async () => {
    const device = await insertDevice(5, null);
    const polls: [number, number][] = [
      // [now, interval after]
      [100, 5], // first poll
      [102, 10], // 2 < 5: slow_down
      [107, 15], // 5 < 10: slow_down
      [122, 15], // 15 >= 15: fine
      [122, 20], // the same second again
    ];
    let previous = { interval: device.interval, lastPolledAt: device.lastPolledAt };
    for (const [now, interval] of polls) {
      const expected = pollTooSoon(previous, now) ? previous.interval + SLOW_DOWN_STEP : previous.interval;
      await pollDeviceCode(db, device.codeHash, clientId, now);
      const after = await stored(device.codeHash);
      expect([after?.interval, after?.lastPolledAt]).toEqual([expected, now]);
      expect(after?.interval).toBe(interval);
      previous = { interval: after!.interval, lastPolledAt: after!.lastPolledAt };
    }
  });

  it("another client's poll neither sees nor touches the code", async () => {
    const device = await insertDevice(5, 1_000);
    expect(await pollDeviceCode(db, device.codeHash, otherClientId, 1_001)).toBeUndefined();
    expect(await stored(device.codeHash)).toEqual(device);
  });

  it('an unknown code is undefined', async () => {
    expect(await pollDeviceCode(db, id('missing'), clientId, 1_000)).toBeUndefined();
  });
});

describe('the poll that finds the approval issues in the same batch, guarded like a code redemption', () => {
  const APPID = 'wx-device-test-app';
  const issue = (): DeviceIssue => ({
    grantId: id('grant'),
    grantExpiresAt: 3_000_000_000,
    amr: 'wechat',
    refresh: { tokenHash: id('refresh'), expiresAt: 3_000_000_000 },
    doorOf: (appid) => sql`CASE ${appid} WHEN ${APPID} THEN 'miniprogram' ELSE 'app' END`,
  });

  async function approvedDevice(scope: string, lastPolledAt: number | null, approved = true) {
    const device = { ...(await insertDevice(5, lastPolledAt)) };
    await db.update(deviceCodes).set({ scope }).where(eq(deviceCodes.codeHash, device.codeHash));
    const userId = id('user');
    const openid = id('openid');
    await db.batch([
      db.insert(users).values({ id: userId, createdAt: 1, updatedAt: 1 }),
      db.insert(wechatIdentities).values({ appid: APPID, openid, userId, createdAt: 1 }),
      db.insert(loginApprovals).values({
        loginId: device.userCode,
        approved,
        userId: approved ? userId : null,
        wechatAppid: approved ? APPID : null,
        wechatOpenid: approved ? openid : null,
        authTime: 990,
      }),
    ]);
    return { device, userId };
  }

  const written = async (grantId: string) => ({
    uses: (await db.select().from(singleUses).where(eq(singleUses.grantId, grantId))).length,
    grants: await db.select().from(grants).where(eq(grants.id, grantId)),
    refreshTokens: (await db.select().from(refreshTokens).where(eq(refreshTokens.grantId, grantId))).length,
  });

  it('issues once approved: the claim, the grant from the code and its approval, the refresh token with offline_access, the audit entry', async () => {
    const { device, userId } = await approvedDevice('openid offline_access', null);
    const terms = issue();
    const polled = await pollDeviceCode(db, device.codeHash, clientId, 1_000, terms);
    expect(polled).toMatchObject({ issued: true, subject: { id: userId } });
    const { uses, grants: [grant], refreshTokens: tokens } = await written(terms.grantId);
    expect(uses).toBe(1);
    expect(grant).toMatchObject({ clientId, userId, scope: 'openid offline_access', authTime: 990, amr: 'wechat', wechatAppid: APPID, createdAt: 1_000, revokedAt: null });
    expect(tokens).toBe(1);
    const [entry] = await db.select().from(auditLog).where(eq(auditLog.userId, userId));
    expect(entry).toMatchObject({ at: 1_000, event: 'login', actor: 'user', clientId, detail: { door: 'miniprogram', appid: APPID } });
    // The poll is recorded as any other.
    expect((await stored(device.codeHash))?.lastPolledAt).toBe(1_000);

    // A second redemption fails the claim, and the batch writes nothing of its own.
    const again = issue();
    const refused = await pollDeviceCode(db, device.codeHash, clientId, 1_010, again).catch((error: unknown) => error);
    expect(isUniqueViolation(refused)).toBe(true);
    expect(await written(again.grantId)).toEqual({ uses: 0, grants: [], refreshTokens: 0 });
    expect((await stored(device.codeHash))?.lastPolledAt).toBe(1_000);
  });

  it('without offline_access, no refresh token', async () => {
    const { device } = await approvedDevice('openid', null);
    const terms = issue();
    expect(await pollDeviceCode(db, device.codeHash, clientId, 1_000, terms)).toMatchObject({ issued: true });
    expect((await written(terms.grantId)).refreshTokens).toBe(0);
  });

  it('issues nothing while pending, when declined, too soon, expired, or for another client', async () => {
    const pending = await insertDevice(5, null);
    const { device: declined } = await approvedDevice('openid', null, false);
    const { device: tooSoon } = await approvedDevice('openid', 998);
    const { device: expired } = await approvedDevice('openid', null);
    await db.update(deviceCodes).set({ expiresAt: 1_000 }).where(eq(deviceCodes.codeHash, expired.codeHash));
    const { device: others } = await approvedDevice('openid', null);
    for (const [device, client] of [[pending, clientId], [declined, clientId], [tooSoon, clientId], [expired, clientId], [others, otherClientId]] as const) {
      const terms = issue();
      const polled = await pollDeviceCode(db, device.codeHash, client, 1_000, terms);
      expect(polled?.issued ?? false).toBe(false);
      expect(await written(terms.grantId)).toEqual({ uses: 0, grants: [], refreshTokens: 0 });
    }
    // The too-soon poll is refused and widens the interval, as a poll without an approval does.
    expect((await stored(tooSoon.codeHash))?.interval).toBe(5 + SLOW_DOWN_STEP);
  });
});
