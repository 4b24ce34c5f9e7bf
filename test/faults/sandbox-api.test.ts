/** The sandbox's fault injection itself: POST|DELETE /sandbox/wechat/faults, GET /sandbox/wechat/calls, named faults on minted codes. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sandboxRoutes } from '../../src/sandbox';
import { sandboxApi } from '../../src/sandbox/wechat-api';
import { call } from '../support/oidc';
import { clearFaults, inject, MINI_APPID, mint, PATHS, TIMEOUT_MS, useFaults } from './support';

useFaults();

const postFaults = (body: unknown) =>
  call('/sandbox/wechat/faults', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/** The fake, spoken to directly, as the client does. */
const session = (code: string) =>
  sandboxApi.request(
    `https://api.weixin.qq.com/sns/jscode2session?appid=${MINI_APPID}&secret=mini-secret-1&js_code=${code}&grant_type=authorization_code`,
    {},
    env,
  );

describe('POST /sandbox/wechat/faults', () => {
  it('queues a fault and says how many requests of that path will fail', async () => {
    const response = await postFaults({ path: '/cgi-bin/stable_token', fault: 45011, times: 2 });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: '/cgi-bin/stable_token', fault: 45011, times: 2, queued: 2 });
    const more = await postFaults({ path: 'cgi-bin/stable_token', fault: 'timeout' });
    expect(await more.json()).toEqual({ path: '/cgi-bin/stable_token', fault: 'timeout', times: 1, queued: 3 });
  });

  it.each([
    ['not JSON', '{path:'],
    ['an array', []],
    ['no path', { fault: -1 }],
    ['an unknown path', { path: '/cgi-bin/token', fault: -1 }],
    ['no fault', { path: PATHS.jscode }],
    ['an errcode of 0', { path: PATHS.jscode, fault: 0 }],
    ['a fractional errcode', { path: PATHS.jscode, fault: 1.5 }],
    ['an errcode as a string', { path: PATHS.jscode, fault: '40029' }],
    ['an unknown named fault', { path: PATHS.jscode, fault: 'explode' }],
    ['an HTTP status under 400', { path: PATHS.jscode, fault: 'http_302' }],
    ['times 0', { path: PATHS.jscode, fault: -1, times: 0 }],
    ['times over 100', { path: PATHS.jscode, fault: -1, times: 101 }],
    ['an unknown field', { path: PATHS.jscode, fault: -1, appid: MINI_APPID }],
  ])('refuses %s with 400 invalid_request', async (_, body) => {
    const response = await postFaults(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
  });

  it('faults are taken in order, one per request, then WeChat answers again', async () => {
    const { code } = await mint({ kind: 'miniprogram', appid: MINI_APPID, openid: 'oQueued' });
    await inject(PATHS.jscode, -1);
    await inject(PATHS.jscode, 'http_503');
    await inject(PATHS.jscode, 'malformed_json');
    expect(await (await session(code)).json()).toMatchObject({ errcode: -1, errmsg: expect.any(String) });
    const unavailable = await session(code);
    expect([unavailable.status, unavailable.headers.get('content-type')]).toEqual([503, 'text/html; charset=utf-8']);
    const garbled = await session(code);
    expect(garbled.status).toBe(200);
    await expect(garbled.json()).rejects.toThrow();
    // A path fault answers before the code is looked at: it is still unspent.
    expect(await (await session(code)).json()).toMatchObject({ openid: 'oQueued' });
  });

  it('"slow" and "timeout" serve the request for real, after their delay', async () => {
    const { code } = await mint({ kind: 'miniprogram', appid: MINI_APPID, openid: 'oDelayed' });
    await inject(PATHS.jscode, 'timeout');
    const started = Date.now();
    expect(await (await session(code)).json()).toMatchObject({ openid: 'oDelayed' });
    // No abort from this caller: the answer comes after twice the client's timeout.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * TIMEOUT_MS);
    // The code was spent by the request that timed out.
    expect(await (await session(code)).json()).toMatchObject({ errcode: 40163 });
  });

  it('DELETE drops every queued fault', async () => {
    await inject(PATHS.jscode, -1, 3);
    await inject(PATHS.phone, 'timeout', 2);
    expect(await clearFaults()).toBe(5);
    expect(await clearFaults()).toBe(0);
    const { code } = await mint({ kind: 'miniprogram', appid: MINI_APPID });
    expect(await (await session(code)).json()).toMatchObject({ openid: expect.any(String) });
  });
});

describe('GET /sandbox/wechat/calls', () => {
  it('counts the requests the fake served on a path, faulted ones included', async () => {
    const count = async () => (await (await call(`/sandbox/wechat/calls?path=${PATHS.jscode}`)).json<{ count: number }>()).count;
    const before = await count();
    await inject(PATHS.jscode, 45011);
    await session('never-minted');
    await session('never-minted');
    expect(await count()).toBe(before + 2);
  });

  it('refuses an unknown path', async () => {
    const response = await call('/sandbox/wechat/calls?path=/cgi-bin/token');
    expect(response.status).toBe(400);
  });
});

describe('named faults on a minted code', () => {
  it.each(['timeout', 'slow', 'malformed_json', 'http_500', 'http_502'])('accepts "%s"', async (error) => {
    const response = await call('/sandbox/wechat/codes', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'miniprogram', error }),
    });
    expect(response.status).toBe(200);
  });

  it('a code minted with http_500 is spent, then answered with that status', async () => {
    const { code } = await mint({ kind: 'miniprogram', appid: MINI_APPID, error: 'http_500' });
    expect((await session(code)).status).toBe(500);
    expect(await (await session(code)).json()).toMatchObject({ errcode: 40163 });
  });

  it.each([['explode'], ['http_200'], ['40029']])('refuses "%s"', async (error) => {
    const response = await call('/sandbox/wechat/codes', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'miniprogram', error }),
    });
    expect(response.status).toBe(400);
  });
});

describe('asked through any host but this machine', () => {
  it.each([
    ['POST', '/faults'],
    ['DELETE', '/faults'],
    ['GET', `/calls?path=${PATHS.jscode}`],
  ])('%s %s is 404', async (method, path) => {
    const response = await sandboxRoutes.request(
      `https://id.example.com${path}`,
      { method, body: method === 'POST' ? JSON.stringify({ path: PATHS.jscode, fault: -1 }) : undefined },
      env,
    );
    expect(response.status).toBe(404);
  });
});
