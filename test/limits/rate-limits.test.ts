/**
 * Rate limits on the endpoints anyone may call (docs/protocol.md §9):
 * each answers its number of requests a minute, then 429 with Retry-After,
 * as JSON or as a page; other addresses and clients count on their own; a
 * refused request writes nothing and calls WeChat zero times.
 */
import { describe, expect, it, vi } from 'vitest';
import { authorizeUrl, Browser, loginIdOf, webClientMetadata } from '../support/browser';
import { call, mint, register, REGISTRATION_TOKEN, type RegisteredClient } from '../support/oidc';
import { callsFrom, PATHS } from '../faults/support';
import { burst, expectRateLimited, freshAddress, freshIPv4, from, get, inOneWindow, LIMITS, sameNetwork, spend, state } from './support';

// Dozens of requests per test, on a machine that may be busy.
vi.setConfig({ testTimeout: 60_000 });

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

const webClient = () => register(webClientMetadata);
const deviceClient = () => register({ token_endpoint_auth_method: 'none', application_type: 'native', grant_types: [DEVICE_CODE], client_name: 'TV' });

const authorizePost = (client: RegisteredClient, address: string) =>
  call('/authorize', {
    method: 'POST',
    headers: from(address, { 'Content-Type': 'application/x-www-form-urlencoded' }),
    body: authorizeUrl(client).split('?')[1],
    redirect: 'manual',
  });

const deviceAuthorization = (client: RegisteredClient, address: string) =>
  call('/device_authorization', {
    method: 'POST',
    headers: from(address, { 'Content-Type': 'application/x-www-form-urlencoded' }),
    body: new URLSearchParams({ client_id: client.client_id, scope: 'openid' }),
  });

/** A browser login started from `address`, and the browser it belongs to. */
async function browserLogin(client: RegisteredClient, address = freshAddress()) {
  const browser = new Browser();
  return { browser, loginId: await loginIdOf(await browser.request(authorizeUrl(client), { headers: from(address) })) };
}

const handoff = (address: string, body: Record<string, unknown>) =>
  call('/wechat/handoff', { method: 'POST', headers: from(address, { 'Content-Type': 'application/json' }), body: JSON.stringify(body) });

describe('starting logins: per client and address, and per client', () => {
  it(`GET and POST /authorize: ${LIMITS.starts} a minute for one client from one address, then a 429 page that writes nothing`, () =>
    inOneWindow(async () => {
      const client = await webClient();
      const address = freshAddress();
      const statuses = await burst(LIMITS.starts, (i) => (i % 2 ? authorizePost(client, address) : get(authorizeUrl(client), address)), 5);
      // A GET is answered with the login page, a POST with a redirect to it.
      expect(statuses).toEqual(Array.from({ length: LIMITS.starts }, (_, i) => (i % 2 ? 303 : 200)));

      const before = await state();
      await expectRateLimited(await get(authorizeUrl(client), address), 'page');
      await expectRateLimited(await authorizePost(client, address), 'page');
      expect(await state()).toEqual(before);
    }));

  it('another address, another client, or another network count on their own; one network is one address', () =>
    inOneWindow(async () => {
      const [client, other] = await Promise.all([webClient(), webClient()]);
      const address = freshAddress();
      await burst(LIMITS.starts, () => get(authorizeUrl(client), address));
      expect((await get(authorizeUrl(client), address)).status).toBe(429);
      // The same /64 is the same subscriber (RFC 6177): still refused.
      expect((await get(authorizeUrl(client), sameNetwork(address))).status).toBe(429);
      expect((await get(authorizeUrl(client), freshAddress())).status).toBe(200);
      expect((await get(authorizeUrl(other), address)).status).toBe(200);
    }));

  it(`POST /device_authorization: ${LIMITS.starts} a minute for one client from one address, then 429 JSON and no device code`, () =>
    inOneWindow(async () => {
      const client = await deviceClient();
      const address = freshAddress();
      expect(await burst(LIMITS.starts, () => deviceAuthorization(client, address), 5)).toEqual(Array(LIMITS.starts).fill(200));
      const before = await state();
      await expectRateLimited(await deviceAuthorization(client, address), 'json');
      expect(await state()).toEqual(before);
      expect((await deviceAuthorization(client, freshAddress())).status).toBe(200);
    }));

  it(`one client from many addresses: ${LIMITS.client} starts a minute, then 429 from any address`, () =>
    inOneWindow(async () => {
      const [client, other] = await Promise.all([webClient(), webClient()]);
      await spend('LIMIT_CLIENT', client.client_id, LIMITS.client - 10);
      // The last ten from ten addresses, far below the per-address numbers.
      const statuses = await burst(10, () => get(authorizeUrl(client), freshAddress()), 5);
      expect(statuses).toEqual(Array(10).fill(200));
      const before = await state();
      await expectRateLimited(await get(authorizeUrl(client), freshAddress()), 'page');
      // Counted by the client it names, before the request is read further: a bad request counts too.
      await expectRateLimited(await get(`/authorize?client_id=${client.client_id}`, freshAddress()), 'page');
      expect(await state()).toEqual(before);
      expect((await get(authorizeUrl(other), freshAddress())).status).toBe(200);
    }));
});

describe('a pending login and the device page: per address', () => {
  it(`${LIMITS.address} requests a minute from one address, then 429: JSON for the status, a page for the pages`, () =>
    inOneWindow(async () => {
      const { browser, loginId } = await browserLogin(await webClient());
      const address = freshIPv4();
      await spend('LIMIT_ADDRESS', address, LIMITS.address - 20);
      const poll = () => browser.request(`/login/${loginId}/status`, { headers: from(address) });
      expect(await burst(20, poll, 5)).toEqual(Array(20).fill(200));
      await expectRateLimited(await poll(), 'json');
      await expectRateLimited(await browser.request(`/login/${loginId}`, { headers: from(address) }), 'page');
      await expectRateLimited(await get('/device', address), 'page');
      await expectRateLimited(await get(`/wechat/handoff/${loginId}`, address), 'json');
      // The person's browser on another network is not held up.
      expect((await browser.request(`/login/${loginId}/status`, { headers: from(freshIPv4()) })).status).toBe(200);
    }));

  it(`user codes: ${LIMITS.userCodes} guesses a minute from one address, wherever they are tried; then even the right code is refused`, () =>
    inOneWindow(async () => {
      const device = await (await deviceClient().then((client) => deviceAuthorization(client, freshAddress()))).json<{ user_code: string }>();
      const address = freshAddress();
      // Codes of the right shape that no device shows (every live code is drawn at random: this one is too unlikely to exist).
      const guess = (i: number) => `BBBB-${'BCDFGHJKLMNPQRSTVWXZ'[i % 20]}${'BCDFGHJKLMNPQRSTVWXZ'[Math.floor(i / 20) % 20]}BB`;
      const tries = [
        (i: number) => get(`/device?user_code=${guess(i)}`, address),
        (i: number) => get(`/login/${guess(i)}/status`, address),
        (i: number) => get(`/wechat/handoff/${guess(i)}`, address),
      ];
      const statuses = await burst(LIMITS.userCodes, (i) => tries[i % tries.length]!(i), 10);
      expect(new Set(statuses)).toEqual(new Set([404]));

      await expectRateLimited(await get(`/device?user_code=${device.user_code}`, address), 'page');
      await expectRateLimited(await get(`/login/${device.user_code}`, address), 'page');
      await expectRateLimited(await get(`/wechat/handoff/${device.user_code}`, address), 'json');
      // Another address finds it.
      expect((await get(`/device?user_code=${device.user_code}`, freshAddress())).status).toBe(303);
    }));

  it('a browser login polling its status names no user code: the user code limit does not slow it', () =>
    inOneWindow(async () => {
      const { browser, loginId } = await browserLogin(await webClient());
      const address = freshAddress();
      await burst(LIMITS.userCodes, (i) => get(`/device?user_code=BBBB-BB${'BCDFGHJKLMNPQRSTVWXZ'[i % 20]}B`, address));
      expect((await get('/device?user_code=BBBB-BBBB', address)).status).toBe(429);
      const polls = await burst(LIMITS.userCodes, () => browser.request(`/login/${loginId}/status`, { headers: from(address) }));
      expect(new Set(polls)).toEqual(new Set([200]));
    }));
});

describe('WeChat code exchanges: per address', () => {
  it(`POST /wechat/handoff: ${LIMITS.wechat} a minute from one address; past it 429, nothing written and WeChat not called`, () =>
    inOneWindow(async () => {
      const { loginId } = await browserLogin(await webClient());
      const address = freshAddress();
      const calls = await callsFrom(PATHS.jscode);
      // Codes of a valid shape that WeChat refuses: each attempt costs a jscode2session call.
      const statuses = await burst(LIMITS.wechat, (i) => handoff(address, { login: loginId, code: `garbage${i}` }), 10);
      expect(new Set(statuses)).toEqual(new Set([400]));
      expect(await calls()).toEqual({ [PATHS.jscode]: LIMITS.wechat });

      const before = await state();
      const minted = await mint({ kind: 'miniprogram' });
      await expectRateLimited(await handoff(address, { login: loginId, code: minted.code, appid: minted.appid }), 'json');
      await expectRateLimited(await handoff(address, { login: loginId, deny: true }), 'json');
      expect(await calls()).toEqual({ [PATHS.jscode]: LIMITS.wechat });
      expect(await state()).toEqual(before);
      // The same code from the person's own network approves.
      expect((await handoff(freshAddress(), { login: loginId, code: minted.code, appid: minted.appid })).status).toBe(200);
    }));

  it("the person's account endpoints count with the handoff: past the limit 429, nothing written and WeChat not called", () =>
    inOneWindow(async () => {
      const address = freshAddress();
      const account = (path: string, body: Record<string, unknown>) =>
        call(`/wechat/account${path}`, { method: 'POST', headers: from(address, { 'Content-Type': 'application/json' }), body: JSON.stringify(body) });
      const calls = await callsFrom(PATHS.jscode);
      const paths = ['', '/delete', ''];
      const statuses = await burst(LIMITS.wechat, (i) => account(paths[i % 3]!, { code: `garbage${i}`, appid: 'wx0000000000mini01' }), 10);
      expect(new Set(statuses)).toEqual(new Set([400]));
      expect(await calls()).toEqual({ [PATHS.jscode]: LIMITS.wechat });

      const before = await state();
      const minted = await mint({ kind: 'miniprogram' });
      for (const path of ['', '/revoke', '/delete']) await expectRateLimited(await account(path, { code: minted.code, appid: minted.appid, client_id: 'c' }), 'json');
      expect((await handoff(address, { login: 'x', code: minted.code })).status).toBe(429);
      expect(await calls()).toEqual({ [PATHS.jscode]: LIMITS.wechat });
      expect(await state()).toEqual(before);
    }));

  it("the web login's callback and doors count with the handoff", () =>
    inOneWindow(async () => {
      const { browser, loginId } = await browserLogin(await webClient());
      const address = freshAddress();
      const statuses = await burst(LIMITS.wechat - 1, (i) => get(`/wechat/callback?state=unknown${i}&code=c${i}`, address), 10);
      expect(new Set(statuses)).toEqual(new Set([400]));
      expect((await handoff(address, { login: loginId, deny: true, code: 'x' })).status).not.toBe(429);
      await expectRateLimited(await get('/wechat/callback?state=unknown&code=c', address), 'page');
      await expectRateLimited(await browser.request(`/login/${loginId}/wechat/website`, { headers: from(address) }), 'page');
    }));
});

describe('dynamic client registration: per address, failed or not', () => {
  const attempt = (address: string, token: string) =>
    call('/register', {
      method: 'POST',
      headers: from(address, { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }),
      body: JSON.stringify({ redirect_uris: ['https://rp.example/cb'] }),
    });

  it(`${LIMITS.registration} attempts a minute from one address; past it 429 even with the right token, and no client written`, () =>
    inOneWindow(async () => {
      const address = freshAddress();
      const statuses = await burst(LIMITS.registration, (i) => attempt(address, `guess-${i}`), 5);
      expect(statuses).toEqual(Array(LIMITS.registration).fill(401));
      const before = await state();
      await expectRateLimited(await attempt(address, 'another-guess'), 'json');
      // A guess past the limit learns nothing, right or wrong.
      await expectRateLimited(await attempt(address, REGISTRATION_TOKEN), 'json');
      expect(await state()).toEqual(before);
      expect((await attempt(freshAddress(), REGISTRATION_TOKEN)).status).toBe(201);
    }));
});
