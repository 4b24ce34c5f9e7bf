/**
 * Rate limit tests (docs/protocol.md §9). The limiters' counters live as
 * long as the test run and are shared by every file, so each test counts
 * under addresses and clients of its own.
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { Limiter } from '../../src/web/rate-limit';
import { call, counts } from '../support/oidc';

/** The numbers of wrangler.toml, which the test pool reads as production does. */
export const LIMITS = { address: 600, starts: 20, client: 600, userCodes: 60, wechat: 30, registration: 10 } as const;

const hex = () => Math.floor(Math.random() * 0x10000).toString(16);

/** An IPv6 address in a /64 no other test uses (documentation prefix, RFC 3849). */
export const freshAddress = () => `2001:db8:${hex()}:${hex()}::${hex()}`;

/** An IPv4 address no other test uses (the benchmarking block, RFC 2544): its key is the address itself. */
export const freshIPv4 = () => `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

/** Another address in the same /64. */
export const sameNetwork = (address: string) => address.replace(/::[0-9a-f]+$/, `::${hex()}:${hex()}`);

/** What Cloudflare's edge adds to every request it forwards. */
export const from = (address: string, headers: Record<string, string> = {}) => ({ ...headers, 'CF-Connecting-IP': address });

export const get = (path: string, address: string, headers: Record<string, string> = {}) =>
  call(path, { headers: from(address, headers), redirect: 'manual' });

/** Sends `n` requests, a few at a time, and returns their statuses. */
export async function burst(n: number, send: (i: number) => Promise<Response>, parallel = 20): Promise<number[]> {
  const statuses: number[] = [];
  for (let start = 0; start < n; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, n - start) }, (_, j) => send(start + j));
    for (const response of await Promise.all(batch)) {
      statuses.push(response.status);
      await response.body?.cancel();
    }
  }
  return statuses;
}

/**
 * Spends `n` of a limiter's count for `key` as the middleware does, through
 * the binding itself. For the limits of hundreds: in the test pool each
 * request of a test is slower than the one before, so hundreds of them would
 * take minutes; the last requests up to the limit and past it go through the
 * endpoint.
 */
export async function spend(limiter: Limiter, key: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await env[limiter].limit({ key })).success).toBe(true);
}

/**
 * The local limiter counts in windows of the period aligned to the clock: a
 * test that counts up to a limit across the end of a window sees its count
 * start again. Such a test runs once more, from the new window (the body
 * makes fresh addresses and clients each time).
 */
export async function inOneWindow(body: () => Promise<void>): Promise<void> {
  const window = () => Math.floor(Date.now() / 60_000);
  const start = window();
  try {
    await body();
  } catch (error) {
    if (window() === start) throw error;
    await body();
  }
}

/** 429 with Retry-After, as JSON (`side` json) or as a page a person sees. */
export async function expectRateLimited(response: Response, side: 'json' | 'page'): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(429);
  expect(response.headers.get('Retry-After')).toBe('60');
  if (side === 'json') {
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(JSON.parse(text)).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  } else {
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(text).toContain('<html');
    expect(response.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
  }
}

/** Every D1 row a login, a device authorization or a registration may write, and the KV keys of logins and their links. */
export async function state(): Promise<Record<string, number>> {
  const more = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM device_codes) AS device_codes, (SELECT count(*) FROM clients) AS clients,
            (SELECT count(*) FROM sessions) AS sessions, (SELECT count(*) FROM single_uses) AS single_uses,
            (SELECT count(*) FROM authorization_codes) AS authorization_codes`,
  ).first<Record<string, number>>();
  const kv: Record<string, number> = {};
  for (const prefix of ['login:', 'login_qr:', 'login_scheme:', 'wechat_state:']) kv[prefix] = await countKeys(prefix);
  return { ...(await counts()), ...more!, ...kv };
}

async function countKeys(prefix: string): Promise<number> {
  let total = 0;
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.KV.list({ prefix, cursor });
    total += page.keys.length;
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return total;
}
