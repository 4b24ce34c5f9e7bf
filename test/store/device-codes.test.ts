import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { database } from '../../src/store/db';
import { pollDeviceCode, pollTooSoon, SLOW_DOWN_STEP, type DeviceCode } from '../../src/store/device-codes';
import { clients, deviceCodes } from '../../src/store/schema';
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
