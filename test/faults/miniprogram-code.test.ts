/**
 * Token exchange of a mini program's wx.login code with a getPhoneNumber code
 * (docs/protocol.md §4) while WeChat fails: sns/jscode2session (the code exchange),
 * cgi-bin/stable_token (the access token) and wxa/business/getuserphonenumber
 * (the phone code exchange); and the stable token refreshed once, not stormed.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxFault } from '../../src/sandbox';
import { createWeChatClient } from '../../src/wechat/client';
import { expireAccessToken, sandboxApi } from '../../src/sandbox/wechat-api';
import { claimsOf, exchange, MINIPROGRAM_CODE, register, type RegisteredClient, uniqueId } from '../support/oidc';
import {
  ALL_FAULTS, cachedStableToken, callsFrom, codeExchangeOutcome, counts, type Expected, expectError, forgetStableToken, inject, isRetried,
  label, MINI_APPID, mint, OK, PATH_SAMPLE, PATHS, persistentOutcome, SERVER_ERROR, TIMEOUT_MS, useFaults,
} from './support';

useFaults();

const SCOPE = 'openid phone offline_access';
const ALL = [PATHS.jscode, PATHS.stableToken, PATHS.phone] as const;

let client: RegisteredClient;
beforeAll(async () => {
  client = await register();
});

/** A mini program login with a phone code; `code` / `phone`: the minted codes' own faults. */
async function attempt(faults: { code?: SandboxFault; phone?: SandboxFault } = {}) {
  const phoneNumber = `+86139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  const [login, phone] = await Promise.all([
    mint({ kind: 'miniprogram', appid: MINI_APPID, openid: uniqueId('o'), error: faults.code }),
    mint({ kind: 'phone', appid: MINI_APPID, phone: phoneNumber, error: faults.phone }),
  ]);
  const send = () => exchange(client, login.code, MINIPROGRAM_CODE, { wechat_appid: MINI_APPID, wechat_phone_code: phone.code, scope: SCOPE });
  return { send, phoneNumber };
}

async function expectOutcome(response: Response, expected: Expected, phoneNumber: string, before: Record<string, number>) {
  if (expected.ok) {
    expect(response.status, await response.clone().text()).toBe(200);
    const { id_token } = await response.json<{ id_token: string }>();
    expect(claimsOf(id_token)).toMatchObject({ phone_number: phoneNumber, phone_number_verified: true });
    expect((await counts()).users).toBe(before.users! + 1);
  } else {
    await expectError(response, expected);
    expect(await counts()).toEqual(before);
  }
}

describe('sns/jscode2session (the code exchange) failing', () => {
  describe.each([
    ['code', ALL_FAULTS],
    ['path', PATH_SAMPLE],
  ] as const)('as the fault of the %s', (via, faults) => {
    it.each(faults.map((fault) => [label(fault), fault] as const))('%s: the right error, called exactly once, no phone code spent', async (_, fault) => {
      const { send, phoneNumber } = await attempt(via === 'code' ? { code: fault } : {});
      if (via === 'path') await inject(PATHS.jscode, fault);
      const before = await counts();
      const calls = await callsFrom(...ALL);
      const started = Date.now();
      const expected = codeExchangeOutcome(fault);
      await expectOutcome(await send(), expected, phoneNumber, before);
      const made = await calls();
      expect(made[PATHS.jscode]).toBe(1);
      // getuserphonenumber is paid for and spends the phone code: only after a good login.
      expect(made[PATHS.phone]).toBe(expected.ok ? 1 : 0);
      if (fault === 'timeout') expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);
    });
  });
});

describe('cgi-bin/stable_token (the access token) failing when none is cached', () => {
  beforeEach(() => forgetStableToken());

  it.each(ALL_FAULTS.map((fault) => [label(fault), fault] as const))('%s every time: the right error, retried at most once, nothing cached or written', async (_, fault) => {
    const { send, phoneNumber } = await attempt();
    await inject(PATHS.stableToken, fault, 2);
    const before = await counts();
    const calls = await callsFrom(...ALL);
    const { expected, calls: tokenCalls } = persistentOutcome(fault, false);
    await expectOutcome(await send(), expected, phoneNumber, before);
    expect(await calls()).toEqual({ [PATHS.jscode]: 1, [PATHS.stableToken]: tokenCalls, [PATHS.phone]: expected.ok ? 1 : 0 });
    if (!expected.ok) expect(await cachedStableToken()).toBeUndefined();
  });

  it.each(ALL_FAULTS.filter(isRetried).map((fault) => [label(fault), fault] as const))('%s once: the one retry succeeds', async (_, fault) => {
    const { send, phoneNumber } = await attempt();
    await inject(PATHS.stableToken, fault, 1);
    const before = await counts();
    const calls = await callsFrom(...ALL);
    await expectOutcome(await send(), OK, phoneNumber, before);
    expect(await calls()).toEqual({ [PATHS.jscode]: 1, [PATHS.stableToken]: 2, [PATHS.phone]: 1 });
    expect(await cachedStableToken()).toBeDefined();
  });
});

describe('wxa/business/getuserphonenumber (the phone code exchange) failing', () => {
  beforeAll(async () => {
    // A cached token, so every call below is counted from a warm cache.
    await (await attempt()).send();
  });

  // The phone code's own fault: WeChat spent it, then failed. (40001 / 42001 refuse the access token, not the code: below.)
  const codeFaults = ALL_FAULTS.filter((fault) => fault !== 40001 && fault !== 42001);
  it.each(codeFaults.map((fault) => [label(fault), fault] as const))('%s as the phone code\'s fault: the right error, called exactly once', async (_, fault) => {
    const { send, phoneNumber } = await attempt({ phone: fault });
    const before = await counts();
    const calls = await callsFrom(...ALL);
    await expectOutcome(await send(), codeExchangeOutcome(fault), phoneNumber, before);
    expect(await calls()).toEqual({ [PATHS.jscode]: 1, [PATHS.stableToken]: 0, [PATHS.phone]: 1 });
  });

  it.each(PATH_SAMPLE.map((fault) => [label(fault), fault] as const))('%s on the path: the right error, called exactly once', async (_, fault) => {
    const { send, phoneNumber } = await attempt();
    await inject(PATHS.phone, fault, 2);
    const before = await counts();
    const calls = await callsFrom(...ALL);
    await expectOutcome(await send(), codeExchangeOutcome(fault), phoneNumber, before);
    expect(await calls()).toEqual({ [PATHS.jscode]: 1, [PATHS.stableToken]: 0, [PATHS.phone]: 1 });
  });

  it.each([40001, 42001])('errcode %i (access token refused) once: the token is refreshed once and the call retried once', async (fault) => {
    const { send, phoneNumber } = await attempt();
    await inject(PATHS.phone, fault, 1);
    const before = await counts();
    const calls = await callsFrom(...ALL);
    await expectOutcome(await send(), OK, phoneNumber, before);
    expect(await calls()).toEqual({ [PATHS.jscode]: 1, [PATHS.stableToken]: 1, [PATHS.phone]: 2 });
  });

  it.each([40001, 42001])('errcode %i (access token refused) every time: one refresh, one retry, then a server_error', async (fault) => {
    const { send, phoneNumber } = await attempt();
    await inject(PATHS.phone, fault, 3);
    const before = await counts();
    const calls = await callsFrom(...ALL);
    await expectOutcome(await send(), SERVER_ERROR, phoneNumber, before);
    expect(await calls()).toEqual({ [PATHS.jscode]: 1, [PATHS.stableToken]: 1, [PATHS.phone]: 2 });
  });

  it('a token WeChat expired (42001, the sandbox\'s own expiry) is replaced once', async () => {
    const token = await cachedStableToken();
    await expireAccessToken(env.KV, token!);
    const { send, phoneNumber } = await attempt();
    const before = await counts();
    const calls = await callsFrom(...ALL);
    await expectOutcome(await send(), OK, phoneNumber, before);
    expect(await calls()).toEqual({ [PATHS.jscode]: 1, [PATHS.stableToken]: 1, [PATHS.phone]: 2 });
    expect(await cachedStableToken()).not.toBe(token);
  });
});

describe('the stable access token under a burst: refreshed once, not stormed', () => {
  const N = 10;

  async function burst() {
    const logins = await Promise.all(Array.from({ length: N }, () => attempt()));
    // A slow stable_token answer keeps the refresh in flight while the other logins arrive.
    await inject(PATHS.stableToken, 'slow', N);
    const before = await counts();
    const calls = await callsFrom(...ALL);
    const responses = await Promise.all(logins.map(({ send }) => send()));
    for (const [i, response] of responses.entries()) {
      expect(response.status, await response.clone().text()).toBe(200);
      const { id_token } = await response.json<{ id_token: string }>();
      expect(claimsOf(id_token).phone_number).toBe(logins[i]!.phoneNumber);
    }
    expect((await counts()).users).toBe(before.users! + N);
    return calls();
  }

  beforeEach(async () => {
    await (await attempt()).send();
    expect(await cachedStableToken()).toBeDefined();
  });

  it(`with no token cached (expired in the cache), ${N} concurrent phone logins fetch one`, async () => {
    await forgetStableToken();
    const made = await burst();
    expect(made).toEqual({ [PATHS.jscode]: N, [PATHS.stableToken]: 1, [PATHS.phone]: N });
  });

  it(`with the cached token expired at WeChat (42001), ${N} concurrent phone logins replace it once`, async () => {
    const token = await cachedStableToken();
    await expireAccessToken(env.KV, token!);
    const made = await burst();
    expect(made[PATHS.stableToken]).toBe(1);
    // Each refused call is retried once, with the one new token.
    expect(made[PATHS.phone]).toBeGreaterThanOrEqual(N + 1);
    expect(made[PATHS.phone]).toBeLessThanOrEqual(2 * N);
    expect(await cachedStableToken()).not.toBe(token);
  });

  it(`with the cached token unknown to WeChat (40001), ${N} concurrent phone logins replace it once`, async () => {
    await env.KV.put(`wechat:stable_token:${MINI_APPID}`, JSON.stringify({ token: 'revoked-token', refreshAt: Date.now() + 3_600_000 }));
    const made = await burst();
    expect(made[PATHS.stableToken]).toBe(1);
    expect(made[PATHS.phone]).toBeGreaterThanOrEqual(N + 1);
    expect(made[PATHS.phone]).toBeLessThanOrEqual(2 * N);
    expect(await cachedStableToken()).not.toBe('revoked-token');
  });

  it('a caller whose cache read was stale when another refresh completed takes that token, not a new fetch', async () => {
    await forgetStableToken();
    // The cache as two clients of one isolate see it: B's read is answered (empty) now but delivered late.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let delayed = true;
    const slowReader = {
      ...env.KV,
      get: async (key: string) => {
        const value = await env.KV.get(key);
        if (delayed) {
          delayed = false;
          await gate;
        }
        return value;
      },
      put: env.KV.put.bind(env.KV),
      delete: env.KV.delete.bind(env.KV),
    } as unknown as KVNamespace;
    const options = { timeoutMs: TIMEOUT_MS, retryDelayMs: 20 };
    const transport = async (request: Request) => sandboxApi.fetch(request, env);
    const calls = await callsFrom(PATHS.stableToken, PATHS.scheme);
    const app = { appid: MINI_APPID, secret: 'mini-secret-1', kind: 'miniprogram' } as const;

    const b = createWeChatClient(transport, slowReader, options).urlScheme(app, { query: 'login=b', expireSeconds: 600 });
    // A reads the empty cache, fetches a token and stores it while B's read is in flight.
    await createWeChatClient(transport, env.KV, options).urlScheme(app, { query: 'login=a', expireSeconds: 600 });
    release();
    expect(await b).toMatch(/^weixin:/);
    expect(await calls()).toEqual({ [PATHS.stableToken]: 1, [PATHS.scheme]: 2 });
  });
});
