/**
 * Token exchange of a mobile app's SendAuth code (docs/protocol.md §4) while WeChat
 * fails: sns/oauth2/access_token (the code exchange) and sns/userinfo (the
 * profile, with scope profile).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { SandboxFault } from '../../src/sandbox';
import { slowDelayMs } from '../../src/sandbox/faults';
import { APP_CODE, claimsOf, exchange, register, type RegisteredClient, uniqueId } from '../support/oidc';
import {
  ALL_FAULTS, callsFrom, codeExchangeOutcome, counts, expectError, inject, isRetried, label, mint, PATH_SAMPLE, PATHS, persistentOutcome,
  TIMEOUT_MS, useFaults,
} from './support';

useFaults();

const SCOPE = 'openid profile offline_access';

let client: RegisteredClient;
beforeAll(async () => {
  client = await register();
});

async function attempt(fault?: SandboxFault, via: 'code' | 'path' = 'path') {
  const openid = uniqueId('o');
  const minted = await mint({ kind: 'app', openid, nickname: '小明', error: via === 'code' ? fault : undefined });
  return { openid, code: minted.code, send: () => exchange(client, minted.code, APP_CODE, { scope: SCOPE }) };
}

describe('sns/oauth2/access_token (the app code exchange) failing', () => {
  describe.each([
    ['code', ALL_FAULTS],
    ['path', PATH_SAMPLE],
  ] as const)('as the fault of the %s', (via, faults) => {
    it.each(faults.map((fault) => [label(fault), fault] as const))('%s: the right error, called exactly once, nothing written', async (_, fault) => {
      const { send } = await attempt(fault, via);
      if (via === 'path') await inject(PATHS.appCode, fault);
      const before = await counts();
      const calls = await callsFrom(PATHS.appCode, PATHS.userinfo);
      const started = Date.now();
      const response = await send();
      const expected = codeExchangeOutcome(fault);
      if (expected.ok) {
        expect(response.status, await response.clone().text()).toBe(200);
        const tokens = await response.json<{ id_token: string }>();
        expect(claimsOf(tokens.id_token)).toMatchObject({ nickname: '小明' });
        expect(await calls()).toEqual({ [PATHS.appCode]: 1, [PATHS.userinfo]: 1 });
        expect((await counts()).users).toBe(before.users! + 1);
      } else {
        await expectError(response, expected);
        // Never retried: WeChat spent the code on the first request, whatever it answered.
        expect(await calls()).toEqual({ [PATHS.appCode]: 1, [PATHS.userinfo]: 0 });
        expect(await counts()).toEqual(before);
      }
      if (fault === 'timeout') expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);
      if (fault === 'slow') expect(Date.now() - started).toBeGreaterThanOrEqual(slowDelayMs(TIMEOUT_MS));
    });
  });

  it.each(['timeout', 'malformed_json'] as const)('a code whose exchange failed with %s is spent: asking again is invalid_grant', async (fault) => {
    const { send } = await attempt(fault, 'code');
    await send();
    const before = await counts();
    await expectError(await send(), { ok: false, error: 'invalid_grant', status: 400 });
    expect(await counts()).toEqual(before);
  });
});

describe('sns/userinfo (the profile) failing', () => {
  it.each(ALL_FAULTS.map((fault) => [label(fault), fault] as const))('%s every time: the right error, retried at most once, nothing written', async (_, fault) => {
    const { send } = await attempt();
    await inject(PATHS.userinfo, fault, 2);
    const before = await counts();
    const calls = await callsFrom(PATHS.appCode, PATHS.userinfo);
    const response = await send();
    const { expected, calls: userinfoCalls } = persistentOutcome(fault, false);
    if (expected.ok) expect(response.status).toBe(200);
    else {
      await expectError(response, expected);
      expect(await counts()).toEqual(before);
    }
    expect(await calls()).toEqual({ [PATHS.appCode]: 1, [PATHS.userinfo]: userinfoCalls });
  });

  it.each(ALL_FAULTS.filter(isRetried).map((fault) => [label(fault), fault] as const))('%s once: the one retry succeeds', async (_, fault) => {
    const { send } = await attempt();
    await inject(PATHS.userinfo, fault, 1);
    const before = await counts();
    const calls = await callsFrom(PATHS.appCode, PATHS.userinfo);
    const response = await send();
    expect(response.status, await response.clone().text()).toBe(200);
    expect(claimsOf((await response.json<{ id_token: string }>()).id_token)).toMatchObject({ nickname: '小明' });
    expect(await calls()).toEqual({ [PATHS.appCode]: 1, [PATHS.userinfo]: 2 });
    expect((await counts()).users).toBe(before.users! + 1);
  });

  it('is not called without scope profile, so its faults do not matter', async () => {
    const { code } = await attempt();
    await inject(PATHS.userinfo, -1, 2);
    const calls = await callsFrom(PATHS.userinfo);
    const response = await exchange(client, code, APP_CODE, { scope: 'openid' });
    expect(response.status).toBe(200);
    expect(await calls()).toEqual({ [PATHS.userinfo]: 0 });
  });
});

it('after a failed login, a new code for the same person logs in once', async () => {
  const openid = uniqueId('o');
  const first = await mint({ kind: 'app', openid, nickname: '小明' });
  await inject(PATHS.userinfo, 45011);
  const before = await counts();
  await expectError(await exchange(client, first.code, APP_CODE, { scope: SCOPE }), { ok: false, error: 'temporarily_unavailable', status: 503 });
  expect(await counts()).toEqual(before);

  const second = await mint({ kind: 'app', openid, nickname: '小明' });
  const response = await exchange(client, second.code, APP_CODE, { scope: SCOPE });
  expect(response.status).toBe(200);
  const after = await counts();
  expect([after.users, after.identities, after.grants]).toEqual([before.users! + 1, before.identities! + 1, before.grants! + 1]);
});
