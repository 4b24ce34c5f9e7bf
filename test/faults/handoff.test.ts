/**
 * The mini program approving a browser login, POST /wechat/handoff (docs/protocol.md
 * §5), while WeChat fails: sns/jscode2session, cgi-bin/stable_token and
 * wxa/business/getuserphonenumber. A failed approval leaves the login
 * pending, and approvable with new codes.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxFault } from '../../src/sandbox';
import { authorizeUrl, Browser, startLogin, webClientMetadata } from '../support/browser';
import { call, register, type RegisteredClient, uniqueId } from '../support/oidc';
import {
  ALL_FAULTS, callsFrom, codeExchangeOutcome, counts, type Expected, expectError, forgetStableToken, inject, label, MINI_APPID,
  mint, OK, PATH_SAMPLE, PATHS, persistentOutcome, SERVER_ERROR, useFaults,
} from './support';

useFaults();

const ALL = [PATHS.jscode, PATHS.stableToken, PATHS.phone] as const;

let client: RegisteredClient;
beforeAll(async () => {
  client = await register(webClientMetadata);
  // A cached stable token, so only the calls under test reach stable_token.
  expect((await (await attempt()).send()).status).toBe(200);
});

const handoff = (body: Record<string, unknown>) =>
  call('/wechat/handoff', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** A pending browser login and the mini program's codes for it; `code` / `phone`: the codes' own faults. */
async function attempt(faults: { code?: SandboxFault; phone?: SandboxFault } = {}) {
  const browser = new Browser();
  const [loginId, login, phone] = await Promise.all([
    startLogin(browser, authorizeUrl(client)),
    mint({ kind: 'miniprogram', appid: MINI_APPID, openid: uniqueId('o'), error: faults.code }),
    mint({ kind: 'phone', appid: MINI_APPID, error: faults.phone }),
  ]);
  const send = () => handoff({ login: loginId, code: login.code, phone_code: phone.code, appid: MINI_APPID });
  const status = async () => (await (await browser.get(`/login/${loginId}/status`)).json<{ status: string }>()).status;
  return { loginId, send, status };
}

async function expectOutcome(attempted: Awaited<ReturnType<typeof attempt>>, expected: Expected) {
  const before = await counts();
  const response = await attempted.send();
  if (expected.ok) {
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'approved' });
    expect(await attempted.status()).toBe('approved');
    const after = await counts();
    expect([after.users, after.approvals]).toEqual([before.users! + 1, before.approvals! + 1]);
    return;
  }
  await expectError(response, expected);
  // No approval, no user, no identity: the login is still pending.
  expect(await counts()).toEqual(before);
  // Nothing half-done: the same login is approved with new codes, once WeChat answers.
  const again = await mint({ kind: 'miniprogram', appid: MINI_APPID });
  const retried = await handoff({ login: attempted.loginId, code: again.code, appid: MINI_APPID });
  expect(retried.status, await retried.clone().text()).toBe(200);
  expect(await attempted.status()).toBe('approved');
}

describe('sns/jscode2session failing', () => {
  describe.each([
    ['code', ALL_FAULTS],
    ['path', PATH_SAMPLE],
  ] as const)('as the fault of the %s', (via, faults) => {
    it.each(faults.map((fault) => [label(fault), fault] as const))('%s: the right error, called exactly once', async (_, fault) => {
      const attempted = await attempt(via === 'code' ? { code: fault } : {});
      if (via === 'path') await inject(PATHS.jscode, fault);
      const calls = await callsFrom(...ALL);
      const expected = codeExchangeOutcome(fault);
      await expectOutcome(attempted, expected);
      // A failed exchange was not retried: the second call is the approval with new codes (and no phone code).
      expect(await calls()).toEqual({ [PATHS.jscode]: expected.ok ? 1 : 2, [PATHS.stableToken]: 0, [PATHS.phone]: expected.ok ? 1 : 0 });
    });
  });
});

// Every fault of stable_token, and its recovery: test/faults/miniprogram-code.test.ts (the same client call); here one of each kind.
describe('cgi-bin/stable_token failing when none is cached', () => {
  beforeEach(() => forgetStableToken());

  it.each(PATH_SAMPLE.map((fault) => [label(fault), fault] as const))('%s every time: the right error, retried at most once', async (_, fault) => {
    const attempted = await attempt();
    await inject(PATHS.stableToken, fault, 2);
    const calls = await callsFrom(...ALL);
    const { expected, calls: tokenCalls } = persistentOutcome(fault, false);
    const before = await counts();
    const response = await attempted.send();
    const made = await calls();
    expect(made[PATHS.stableToken]).toBe(tokenCalls);
    expect(made[PATHS.phone]).toBe(expected.ok ? 1 : 0);
    if (expected.ok) expect(response.status).toBe(200);
    else {
      await expectError(response, expected);
      expect(await counts()).toEqual(before);
    }
  });

  it.each([-1, 'timeout'] as const)('%s once: the one retry succeeds', async (fault) => {
    const attempted = await attempt();
    await inject(PATHS.stableToken, fault, 1);
    const calls = await callsFrom(...ALL);
    await expectOutcome(attempted, OK);
    expect(await calls()).toEqual({ [PATHS.jscode]: 1, [PATHS.stableToken]: 2, [PATHS.phone]: 1 });
  });
});

describe('wxa/business/getuserphonenumber failing', () => {
  beforeAll(async () => {
    expect((await (await attempt()).send()).status).toBe(200);
  });

  // Every fault of the phone code: test/faults/miniprogram-code.test.ts; here, one of each kind, as the code's and as the path's.
  it.each(PATH_SAMPLE.map((fault) => [label(fault), fault] as const))('%s as the phone code\'s fault: the right error, called once', async (_, fault) => {
    const attempted = await attempt({ phone: fault });
    const calls = await callsFrom(PATHS.phone, PATHS.stableToken);
    await expectOutcome(attempted, codeExchangeOutcome(fault));
    expect(await calls()).toEqual({ [PATHS.phone]: 1, [PATHS.stableToken]: 0 });
  });

  it.each(PATH_SAMPLE.map((fault) => [label(fault), fault] as const))('%s on the path: the right error, called once', async (_, fault) => {
    const attempted = await attempt();
    await inject(PATHS.phone, fault, 2);
    const calls = await callsFrom(PATHS.phone, PATHS.stableToken);
    await expectOutcome(attempted, codeExchangeOutcome(fault));
    expect(await calls()).toEqual({ [PATHS.phone]: 1, [PATHS.stableToken]: 0 });
  });

  it.each([
    [40001, 1, OK],
    [42001, 1, OK],
    [40001, 3, SERVER_ERROR],
    [42001, 3, SERVER_ERROR],
  ] as const)('errcode %i %i time(s): the token is refreshed once and the call retried once', async (fault, times, expected) => {
    const attempted = await attempt();
    await inject(PATHS.phone, fault, times);
    const calls = await callsFrom(PATHS.phone, PATHS.stableToken);
    await expectOutcome(attempted, expected);
    expect(await calls()).toEqual({ [PATHS.phone]: 2, [PATHS.stableToken]: 1 });
  });
});
