/**
 * The stable access token refresh when the request that started it goes away.
 * Concurrent callers must not await a promise another request created: workerd
 * ties it to that request, and once the request is canceled (its client hung
 * up) the promise never settles, so every caller waiting on it would hang. The
 * waiters must answer on their own: by fetching themselves once the fetch they
 * waited for has had all the time it may take.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, expect, it } from 'vitest';
import type { Env } from '../../src/config';
import { call, MINIPROGRAM_CODE, register, type RegisteredClient, uniqueId } from '../support/oidc';
import { callsFrom, forgetStableToken, inject, MINI_APPID, mint, PATHS, useFaults } from './support';

useFaults();

/** Per attempt: "slow" answers after a quarter of it (500 ms), so the fetch is surely in flight when the others arrive. */
const TIMEOUT_MS = 2_000;
/** The fetch's longest run (two attempts, the pause, the store) and then some: a hung waiter never answers. */
const BOUND_MS = 8_000;

let client: RegisteredClient;
beforeAll(async () => {
  client = await register();
  (env as Env).WECHAT_TIMEOUT_MS = String(TIMEOUT_MS);
});

/** A token exchange of a mini program code with a phone code: it needs the stable access token. */
async function phoneLogin() {
  const [login, phone] = await Promise.all([
    mint({ kind: 'miniprogram', appid: MINI_APPID, openid: uniqueId('o') }),
    mint({ kind: 'phone', appid: MINI_APPID, phone: '+8613900000000' }),
  ]);
  const body = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: login.code,
    subject_token_type: MINIPROGRAM_CODE,
    wechat_appid: MINI_APPID,
    wechat_phone_code: phone.code,
    scope: 'openid phone',
  });
  const authorization = `Basic ${btoa(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret!)}`)}`;
  return (signal?: AbortSignal) =>
    call('/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: authorization }, body, signal });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('callers waiting for a refresh whose request was canceled still answer', { timeout: 30_000 }, async () => {
  await forgetStableToken();
  const [first, ...others] = await Promise.all(Array.from({ length: 5 }, phoneLogin));
  await inject(PATHS.stableToken, 'slow');
  const calls = await callsFrom(PATHS.stableToken);

  // The first login starts the refresh (answered slowly), the others arrive while it is in flight...
  const hangUp = new AbortController();
  const abandoned = first!(hangUp.signal).catch(() => 'canceled');
  await sleep(150);
  const waiting = others.map(async (send) => {
    const response = await send();
    return `${response.status} ${response.status === 200 ? '' : await response.text()}`.trim();
  });
  // ...and the first one's client hangs up before the refresh completes.
  await sleep(100);
  hangUp.abort();
  expect(await abandoned).toBe('canceled');

  const noAnswer = sleep(BOUND_MS).then(() => 'no answer');
  const answers = await Promise.all(waiting.map((answer) => Promise.race([answer, noAnswer])));
  expect(answers).toEqual(others.map(() => '200'));
  // The canceled refresh, then one by a waiter: still not one per caller.
  expect((await calls())[PATHS.stableToken]).toBe(2);
});
