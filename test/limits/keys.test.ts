/** Which limits a request counts against, and under which keys (src/web/rate-limit.ts): the pure decisions. */
import { describe, expect, it } from 'vitest';
import { addressKey, checksFor } from '../../src/web/rate-limit';

describe('addressKey: one key per IPv4 address, one per IPv6 /64 (RFC 6177)', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:1:2::', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('%s → %s', (ip, key) => expect(addressKey(ip)).toBe(key));

  it('no header, or an empty one: no address', () => {
    expect(addressKey(undefined)).toBeUndefined();
    expect(addressKey('')).toBeUndefined();
  });
});

describe('checksFor', () => {
  const address = '203.0.113.7';
  it('a start counts per address, per client and per client and address', () => {
    expect(checksFor('start', { address, clientId: 'c1' })).toEqual([
      { limiter: 'LIMIT_ADDRESS', key: address },
      { limiter: 'LIMIT_CLIENT', key: 'c1' },
      { limiter: 'LIMIT_STARTS', key: `${address} c1` },
    ]);
  });
  it('without an address only the client is counted; without a client, the address', () => {
    expect(checksFor('start', { clientId: 'c1' })).toEqual([{ limiter: 'LIMIT_CLIENT', key: 'c1' }]);
    expect(checksFor('start', { address })).toEqual([
      { limiter: 'LIMIT_ADDRESS', key: address },
      { limiter: 'LIMIT_STARTS', key: `${address} ` },
    ]);
  });
  it('login pages count user codes apart; WeChat exchanges and registration have their own', () => {
    expect(checksFor('login', { address })).toEqual([{ limiter: 'LIMIT_ADDRESS', key: address }]);
    expect(checksFor('login', { address, namesUserCode: true })).toEqual([
      { limiter: 'LIMIT_ADDRESS', key: address },
      { limiter: 'LIMIT_USER_CODES', key: address },
    ]);
    expect(checksFor('wechat', { address })).toEqual([
      { limiter: 'LIMIT_ADDRESS', key: address },
      { limiter: 'LIMIT_WECHAT', key: address },
    ]);
    expect(checksFor('registration', { address })).toEqual([{ limiter: 'LIMIT_REGISTRATION', key: address }]);
    expect(checksFor('registration', {})).toEqual([]);
  });
});
