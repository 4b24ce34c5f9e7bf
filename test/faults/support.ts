/**
 * WeChat fault injection through the public sandbox (sandbox.ts, "Fault
 * injection"): queue faults per API path, mint codes whose exchange fails,
 * count the fake's calls, and check what the provider answered and wrote.
 */
import { env } from 'cloudflare:workers';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import type { Env } from '../../src/config';
import type { SandboxFault } from '../../src/sandbox';
import { sandboxCallCount } from '../../src/sandbox/wechat-api';
import { call } from '../support/oidc';

export { counts, mint } from '../support/oidc';

export const PATHS = {
  appCode: '/sns/oauth2/access_token',
  userinfo: '/sns/userinfo',
  jscode: '/sns/jscode2session',
  stableToken: '/cgi-bin/stable_token',
  phone: '/wxa/business/getuserphonenumber',
  wxacode: '/wxa/getwxacodeunlimit',
  scheme: '/wxa/generatescheme',
} as const;

export const MINI_APPID = 'wx0000000000mini01';

/**
 * The client's per-attempt timeout in these tests (production: 5 s). Short,
 * but with room for a loaded CI machine: a good call must never time out.
 */
export const TIMEOUT_MS = 400;

/**
 * Every fault file: a short client timeout and retry pause
 * (WECHAT_TIMEOUT_MS, WECHAT_RETRY_DELAY_MS, read by createWeChat from the
 * environment SELF shares with the tests), and no fault left queued for the
 * next test.
 */
type WeChatEnv = Pick<Env, 'WECHAT_TIMEOUT_MS' | 'WECHAT_RETRY_DELAY_MS'>;

export function useFaults(): void {
  const settings = env as unknown as WeChatEnv;
  let before: WeChatEnv = {};
  // Timeouts, retry pauses and bursts: more than vitest's default 5 s on a busy machine.
  vi.setConfig({ testTimeout: 30_000 });
  beforeAll(() => {
    before = { WECHAT_TIMEOUT_MS: settings.WECHAT_TIMEOUT_MS, WECHAT_RETRY_DELAY_MS: settings.WECHAT_RETRY_DELAY_MS };
    settings.WECHAT_TIMEOUT_MS = String(TIMEOUT_MS);
    settings.WECHAT_RETRY_DELAY_MS = '20';
  });
  afterAll(() => {
    for (const name of ['WECHAT_TIMEOUT_MS', 'WECHAT_RETRY_DELAY_MS'] as const) {
      if (before[name] === undefined) delete settings[name];
      else settings[name] = before[name];
    }
  });
  afterEach(async () => {
    await clearFaults();
  });
}

/** POST /sandbox/wechat/faults: the next `times` requests to `path` fail with `fault`. */
export async function inject(path: string, fault: SandboxFault, times = 1): Promise<void> {
  const response = await call('/sandbox/wechat/faults', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ path, fault, times }),
  });
  if (response.status !== 200) throw new Error(`fault injection failed: ${response.status} ${await response.text()}`);
}

/** DELETE /sandbox/wechat/faults: how many queued faults were never triggered. */
export async function clearFaults(): Promise<number> {
  const response = await call('/sandbox/wechat/faults', { method: 'DELETE' });
  if (response.status !== 200) throw new Error(`clearing faults failed: ${response.status}`);
  return (await response.json<{ dropped: number }>()).dropped;
}

/** Requests the fake served on `path` (what GET /sandbox/wechat/calls answers, read directly). */
export const callCount = (path: string) => sandboxCallCount(env.KV, path);

/** The calls made on each path from now on. */
export async function callsFrom<P extends string>(...paths: P[]): Promise<() => Promise<Record<P, number>>> {
  const start = await Promise.all(paths.map(callCount));
  return async () => {
    const now = await Promise.all(paths.map(callCount));
    return Object.fromEntries(paths.map((path, i) => [path, now[i]! - start[i]!])) as Record<P, number>;
  };
}

/** Forgets the cached stable access token, so the next wxa/ call fetches one (as after its expiry). */
export async function forgetStableToken(appid = MINI_APPID): Promise<void> {
  await env.KV.delete(`wechat:stable_token:${appid}`);
}

export async function cachedStableToken(appid = MINI_APPID): Promise<string | undefined> {
  return (await env.KV.get<{ token: string }>(`wechat:stable_token:${appid}`, 'json'))?.token;
}

export type Expected =
  | { ok: true }
  | { ok: false; error: 'invalid_grant' | 'temporarily_unavailable' | 'server_error'; status: 400 | 503 | 500 };

export const OK: Expected = { ok: true };
export const INVALID_GRANT: Expected = { ok: false, error: 'invalid_grant', status: 400 };
export const UNAVAILABLE: Expected = { ok: false, error: 'temporarily_unavailable', status: 503 };
export const SERVER_ERROR: Expected = { ok: false, error: 'server_error', status: 500 };

/** The provider's own failure, as opposed to an OAuthError it chose. */
const UNHANDLED = 'the server failed to process the request';

/** A failed response is the clean JSON error expected: never the catch-all 500, never a stack. */
export async function expectError(response: Response, expected: Exclude<Expected, { ok: true }>): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(expected.status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: string; error_description: string };
  expect(body.error).toBe(expected.error);
  expect(body.error_description).toEqual(expect.any(String));
  expect(body.error_description).not.toBe(UNHANDLED);
  expectNoWeChatDetails(body.error_description);
  expect(text).not.toMatch(/\bat .+:\d+:\d+|Error:/);
  if (expected.status === 503) expect(response.headers.get('Retry-After')).toMatch(/^\d+$/);
}

/**
 * What the client or the person reads of a WeChat failure: plain words. The
 * errcode and the API path are the bridge's business, kept for its log.
 */
export function expectNoWeChatDetails(text: string): void {
  expect(text).not.toMatch(/errcode|\/?(sns|wxa|cgi-bin)\/|\b(-1|4\d{4}|6\d{4}|8\d{4})\b/);
}

/** The faults of docs/wechat.md, and the named faults of the sandbox. */
export const ERRCODE_FAULTS = [-1, 45011, 40029, 40163, 40226, 42001, 40001] as const;
export const TRANSPORT_FAULTS = ['timeout', 'http_500', 'http_502', 'malformed_json', 'slow'] as const;
export const ALL_FAULTS: readonly SandboxFault[] = [...ERRCODE_FAULTS, ...TRANSPORT_FAULTS];

/**
 * What a code exchange (sns/oauth2/access_token, sns/jscode2session, and the
 * phone code's getuserphonenumber) gives for `fault`: it is never retried,
 * a refused code is invalid_grant, WeChat's trouble temporarily_unavailable.
 * 40001 / 42001 on a secret-bearing exchange is the bridge's configuration.
 */
export function codeExchangeOutcome(fault: SandboxFault): Expected {
  if (fault === 'slow') return OK;
  if (fault === 40029 || fault === 40163 || fault === 40226) return INVALID_GRANT;
  if (fault === 40001 || fault === 42001) return SERVER_ERROR;
  return UNAVAILABLE;
}

/** Faults an idempotent call retries once: -1 busy, and no answer (timeout, HTTP 5xx). */
export const isRetried = (fault: SandboxFault) => fault === -1 || fault === 'timeout' || (typeof fault === 'string' && fault.startsWith('http_5'));

/**
 * An idempotent call (sns/userinfo, cgi-bin/stable_token, wxa/getwxacodeunlimit,
 * wxa/generatescheme) failing every time with `fault`: the outcome and how
 * many times it was called. `usesStableToken`: 40001 / 42001 there mean the
 * token was refused, which is refreshed once and the call retried once.
 */
export function persistentOutcome(fault: SandboxFault, usesStableToken: boolean): { expected: Expected; calls: number } {
  if (fault === 'slow') return { expected: OK, calls: 1 };
  if (isRetried(fault)) return { expected: UNAVAILABLE, calls: 2 };
  if (fault === 45011 || fault === 'malformed_json') return { expected: UNAVAILABLE, calls: 1 };
  if ((fault === 40001 || fault === 42001) && usesStableToken) return { expected: SERVER_ERROR, calls: 2 };
  return { expected: SERVER_ERROR, calls: 1 };
}

/**
 * Path faults tried where the full list is tried elsewhere (a code exchange's
 * code faults, the same client call in another flow): one of each kind of
 * answer ("timeout" and "slow" go through the same sandbox code as there).
 */
export const PATH_SAMPLE: readonly SandboxFault[] = [-1, 40163, 'http_502', 'malformed_json'];

export const label = (fault: SandboxFault) => (typeof fault === 'number' ? `errcode ${fault}` : fault);
