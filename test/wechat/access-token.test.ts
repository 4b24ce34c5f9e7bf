import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { expireAccessToken } from '../../src/sandbox/wechat-api';
import { MINI, cachedToken, callsFrom, client, faulty, mint, oauthError, oauthErrorLogged, pathOf, tokenCacheKey } from './helpers';

const STABLE_TOKEN = '/cgi-bin/stable_token';
const CODE = '/wxa/getwxacodeunlimit';

// The cgi-bin/stable_token cache shared through KV.
describe('stable access token', () => {
  beforeEach(async () => {
    await env.KV.delete(tokenCacheKey(MINI));
  });

  it('is fetched once, cached in KV, and reused by later calls and clients', async () => {
    const fetched = await callsFrom(STABLE_TOKEN);
    await client().miniProgramCode(MINI, { scene: 'a' });
    await client().urlScheme(MINI, { query: 'login=a', expireSeconds: 600 });
    await client().miniProgramCode(MINI, { scene: 'b' });
    expect(await fetched()).toBe(1);
    expect(await cachedToken(MINI)).toMatch(/^[A-Za-z0-9]{100,}$/);
  });

  it('is cached with a KV expiry a few minutes before WeChat expires it', async () => {
    await client().miniProgramCode(MINI, { scene: 'a' });
    const { keys } = await env.KV.list({ prefix: tokenCacheKey(MINI) });
    const now = Date.now() / 1000;
    expect(keys).toHaveLength(1);
    expect(keys[0]?.expiration).toBeGreaterThan(now + 7200 - 600);
    expect(keys[0]?.expiration).toBeLessThanOrEqual(now + 7200 - 300 + 1);
  });

  it('is fetched once by concurrent callers of one isolate', async () => {
    const fetched = await callsFrom(STABLE_TOKEN);
    const links = await Promise.all(
      Array.from({ length: 8 }, (_, i) => client().urlScheme(MINI, { query: `login=${i}`, expireSeconds: 600 })),
    );
    expect(new Set(links).size).toBe(8);
    expect(await fetched()).toBe(1);
  });

  it('is replaced once after WeChat says it expired (42001)', async () => {
    await client().miniProgramCode(MINI, { scene: 'a' });
    const old = await cachedToken(MINI);
    if (!old) throw new Error('no cached token');
    await expireAccessToken(env.KV, old);

    const fetched = await callsFrom(STABLE_TOKEN);
    const codes = await callsFrom(CODE);
    const png = await client().miniProgramCode(MINI, { scene: 'b' });
    expect(png.length).toBeGreaterThan(0);
    expect(await fetched()).toBe(1);
    expect(await codes()).toBe(2);
    const fresh = await cachedToken(MINI);
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(old);
  });

  it('is replaced after WeChat does not know it (40001), without spending the phone code', async () => {
    await env.KV.put(tokenCacheKey(MINI), JSON.stringify({ token: 'revoked', refreshAt: Date.now() + 3_600_000 }));
    const fetched = await callsFrom(STABLE_TOKEN);
    const phoneCalls = await callsFrom('/wxa/business/getuserphonenumber');
    const login = await mint({ kind: 'miniprogram' });
    const phone = await mint({ kind: 'phone', phone: '+8613600136000' });
    const identity = await client().miniProgramLogin(MINI, login.code, { phoneCode: phone.code });
    expect(identity.phoneNumber).toBe('+8613600136000');
    expect(await phoneCalls()).toBe(2);
    expect(await fetched()).toBe(1);
    expect(await cachedToken(MINI)).not.toBe('revoked');
  });

  it('is replaced only once when WeChat keeps refusing it', async () => {
    const { transport, seen } = faulty((request) =>
      pathOf(request) === CODE ? Response.json({ errcode: 40014, errmsg: 'invalid access_token' }) : undefined,
    );
    const error = await oauthError(client(transport).miniProgramCode(MINI, { scene: 'a' }));
    expect([error.error, error.status]).toEqual(['server_error', 500]);
    expect(seen(CODE)).toBe(2);
    expect(seen(STABLE_TOKEN)).toBe(2);
  });

  it('is retried once when stable_token is busy', async () => {
    const { transport, seen } = faulty((request, attempt) =>
      pathOf(request) === STABLE_TOKEN && attempt === 1 ? Response.json({ errcode: -1, errmsg: 'system error' }) : undefined,
    );
    const png = await client(transport).miniProgramCode(MINI, { scene: 'a' });
    expect(png.length).toBeGreaterThan(0);
    expect(seen(STABLE_TOKEN)).toBe(2);
  });

  it('a wrong secret is a server_error, and nothing is cached', async () => {
    const secret = 'wrong-secret-value';
    const { error, log } = await oauthErrorLogged(client().miniProgramCode({ ...MINI, secret }, { scene: 'a' }));
    expect([error.error, error.description]).toEqual(['server_error', 'the bridge could not complete its request to WeChat']);
    expect(log).toContain('WeChat cgi-bin/stable_token: errcode 40125');
    expect(log).not.toContain(secret);
    expect(await cachedToken(MINI)).toBeUndefined();
  });
});
