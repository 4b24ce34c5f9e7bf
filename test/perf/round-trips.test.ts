/**
 * Storage round trips per operation (docs/performance.md "Round trips"): the
 * app built with D1 and KV behind counting wrappers. A round trip is a D1
 * statement (first, all, run, raw), a D1 batch, or a KV get, put, delete or
 * list; the WeChat sandbox's own KV keys (`sandbox:`) are WeChat, not ours.
 * Calls that start while another is in flight (Promise.all) overlap it: they
 * count as calls but not as another round trip in sequence. What runs after
 * the response (ExecutionContext.waitUntil) is counted apart, as deferred.
 * Each bound below is today's count: one more round trip fails the test.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import type { Env } from '../../src/config';
import { sandboxTransport } from '../../src/sandbox';
import { authorizeUrl, Browser, loginIdOf, pkce, REDIRECT_URI, webClientMetadata } from '../support/browser';
import { basic, MINIPROGRAM_CODE, mint, register, TOKEN_EXCHANGE, type RegisteredClient, type TokenSet, uniqueId } from '../support/oidc';

const ISSUER = 'http://localhost:8787';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

/** The round trips of one operation: in sequence, all calls, and what each was. */
class Meter {
  sequential = 0;
  calls: string[] = [];
  deferred: string[] = [];
  private inFlight = 0;
  private afterResponse = false;

  async track<T>(label: string, run: () => Promise<T>): Promise<T> {
    if (this.afterResponse) {
      this.deferred.push(label);
      return run();
    }
    if (this.inFlight === 0) this.sequential++;
    this.calls.push(label);
    this.inFlight++;
    try {
      return await run();
    } finally {
      this.inFlight--;
    }
  }

  responded(): void {
    this.afterResponse = true;
  }
}

let meter = new Meter();

const STATEMENT_CALLS = new Set(['first', 'all', 'run', 'raw']);
const real = new WeakMap<object, D1PreparedStatement>();

function countedStatement(statement: D1PreparedStatement, query: string): D1PreparedStatement {
  const counted = new Proxy(statement, {
    get(target, name) {
      if (name === 'bind') return (...values: unknown[]) => countedStatement(target.bind(...values), query);
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      if (typeof name === 'string' && STATEMENT_CALLS.has(name)) {
        return (...args: unknown[]) => meter.track(`D1 ${query.slice(0, 60)}`, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  real.set(counted, statement);
  return counted;
}

const countedD1 = (db: D1Database): D1Database =>
  new Proxy(db, {
    get(target, name) {
      if (name === 'prepare') return (query: string) => countedStatement(target.prepare(query), query);
      if (name === 'batch') {
        return (statements: D1PreparedStatement[]) =>
          meter.track(`D1 batch of ${statements.length}`, () => target.batch(statements.map((statement) => real.get(statement) ?? statement)));
      }
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });

const KV_CALLS = new Set(['get', 'getWithMetadata', 'put', 'delete', 'list']);

const countedKV = (kv: KVNamespace): KVNamespace =>
  new Proxy(kv, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      const call = (...args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      if (typeof name !== 'string' || !KV_CALLS.has(name)) return call;
      return (...args: unknown[]) => {
        const key = typeof args[0] === 'string' ? args[0] : '';
        // The sandbox stands in for WeChat: its state is WeChat's, not the bridge's.
        if (key.startsWith('sandbox:')) return call(...args);
        return meter.track(`KV ${name} ${key.split(':')[0]}`, () => call(...args));
      };
    },
  });

const countedEnv: Env = { ...env, DB: countedD1(env.DB), KV: countedKV(env.KV) };
const app = createApp({ wechatTransport: sandboxTransport });

interface Measured {
  response: Response;
  sequential: number;
  calls: string[];
  deferred: string[];
}

/** One request through the counted app: its round trips before the response, and those deferred past it. */
async function measured(path: string, init: RequestInit = {}): Promise<Measured> {
  meter = new Meter();
  const context = createExecutionContext();
  const response = await app.request(`${ISSUER}${path}`, { redirect: 'manual', ...init }, countedEnv, context);
  const { sequential, calls } = meter;
  meter.responded();
  await waitOnExecutionContext(context);
  return { response, sequential, calls, deferred: meter.deferred };
}

const report: [operation: string, sequential: number, calls: number, deferred: number][] = [];
const record = (operation: string, ...steps: Measured[]) => {
  const sequential = steps.reduce((sum, step) => sum + step.sequential, 0);
  report.push([operation, sequential, steps.reduce((sum, step) => sum + step.calls.length, 0), steps.reduce((sum, step) => sum + step.deferred.length, 0)]);
  console.log(`${operation}: ${sequential} in sequence`, steps.map((step) => step.calls));
  return sequential;
};

afterAll(() => {
  console.table(report.map(([operation, sequential, calls, deferred]) => ({ operation, sequential, calls, deferred })));
});

const form = (client: RegisteredClient, params: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(client) },
  body: new URLSearchParams(params),
});

/** A browser whose requests go through the counted app, each step's round trips kept. */
class CountedBrowser extends Browser {
  steps: Measured[] = [];
  constructor() {
    super(async (path, init) => {
      const step = await measured(path, init);
      this.steps.push(step);
      return step.response;
    });
  }
}

async function exchangeTokens(client: RegisteredClient, openid?: string) {
  const minted = await mint({ kind: 'miniprogram', ...(openid && { openid }) });
  const step = await measured(
    '/token',
    form(client, { grant_type: TOKEN_EXCHANGE, subject_token: minted.code, subject_token_type: MINIPROGRAM_CODE, wechat_appid: minted.appid, scope: 'openid profile offline_access' }),
  );
  expect(step.response.status).toBe(200);
  return { step, tokens: await step.response.json<TokenSet>() };
}

/** The mini program approves a login (a browser's or a device's) through the counted app. */
async function approveCounted(loginId: string) {
  const minted = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini01' });
  const step = await measured('/wechat/handoff', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: loginId, code: minted.code, appid: minted.appid }),
  });
  expect(step.response.status).toBe(200);
  return step;
}

describe('storage round trips per operation', () => {
  it('the token exchange: the binding, the grant and the audit entries in one batch', async () => {
    const client = await register();
    // The first exchange reads the client from D1 and keeps it in the isolate; the second is the steady state.
    await exchangeTokens(client);
    const { step } = await exchangeTokens(client);
    expect(record('token exchange (a new user)', step)).toBe(1);
    // What is known, the binding's guarded writes, the grant and its refresh token, the login's audit entry, the user read back: one batch.
    expect(step.calls).toEqual([expect.stringMatching(/^D1 batch of \d+$/)]);
    const openid = uniqueId('known');
    await exchangeTokens(client, openid);
    const known = await exchangeTokens(client, openid);
    // The same person again: nothing to bind, the grant with its refresh token and audit entry.
    expect(record('token exchange (a known user)', known.step)).toBe(1);
    expect(known.step.calls).toEqual(step.calls);
  });

  it('a refresh: 1 round trip', async () => {
    const client = await register();
    const { tokens } = await exchangeTokens(client);
    const step = await measured('/token', form(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }));
    expect(step.response.status).toBe(200);
    expect(record('refresh', step)).toBe(1);
  });

  it('userinfo and introspection: at most 1 round trip each', async () => {
    const client = await register();
    const { tokens } = await exchangeTokens(client);
    const userinfo = await measured('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.response.status).toBe(200);
    expect(record('userinfo', userinfo)).toBeLessThanOrEqual(1);
    const introspection = await measured('/introspect', form(client, { token: tokens.access_token }));
    expect(await introspection.response.json()).toMatchObject({ active: true });
    expect(record('introspection (access token)', introspection)).toBeLessThanOrEqual(1);
    const refresh = await measured('/introspect', form(client, { token: tokens.refresh_token! }));
    expect(await refresh.response.json()).toMatchObject({ active: true });
    expect(record('introspection (refresh token)', refresh)).toBeLessThanOrEqual(1);
  });

  /** A whole browser login by a new user: authorize (answered with the login page), the approval, the way back, the code redeemed. */
  async function browserLoginCounted(client: RegisteredClient) {
    const { verifier, challenge } = await pkce();
    const browser = new CountedBrowser();
    const started = await browser.get(authorizeUrl(client, { code_challenge: challenge, code_challenge_method: 'S256' }));
    expect(started.status).toBe(200);
    const loginId = await loginIdOf(started);
    const approval = await approveCounted(loginId);
    const back = await browser.get(`/login/${loginId}/continue`);
    expect(back.status).toBe(302);
    const code = new URL(back.headers.get('Location')!).searchParams.get('code')!;
    const redemption = await measured('/token', form(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }));
    expect(redemption.response.status).toBe(200);
    const [authorize, continued] = browser.steps as [Measured, Measured];
    return { authorize, approval, continued, redemption, steps: [authorize, approval, continued, redemption] };
  }

  it('a whole browser login, authorize to tokens, and the code redemption alone', async () => {
    const client = await register({ ...webClientMetadata, token_endpoint_auth_method: 'client_secret_basic' });
    const cold = await browserLoginCounted(client);
    // The client read, then the pending login written; the page is the answer.
    expect(record('  authorize and the login page (client not yet cached)', cold.authorize)).toBe(2);
    // The pending login and its answer, read before WeChat is called; then the binding and the approval in one batch.
    expect(record('  handoff approve', cold.approval)).toBe(2);
    // The login, its answer and the session read together, then the session and the code written together.
    expect(record('  continue', cold.continued)).toBe(2);
    // The code's single use, the grant and the refresh token, each guarded by the code's checks, in one batch.
    expect(record('  code redemption', cold.redemption)).toBe(1);
    expect(cold.redemption.calls).toEqual(['D1 batch of 4']);
    expect(record('browser login, client not yet cached in this isolate', ...cold.steps)).toBe(7);

    // The same client again, as a busy isolate has it: the client is cached, the pending login is the authorize's only write.
    const warm = await browserLoginCounted(client);
    expect(record('  authorize and the login page (client cached)', warm.authorize)).toBe(1);
    expect(warm.authorize.calls).toEqual(['KV put login']);
    expect(record('browser login (authorize → tokens)', ...warm.steps)).toBe(6);
  });

  it('the device flow: authorization, approval, one pending poll and the token response', async () => {
    const client = await register({ grant_types: [DEVICE, 'refresh_token'] });
    const authorization = await measured('/device_authorization', form(client, { scope: 'openid' }));
    expect(authorization.response.status).toBe(200);
    const device = await authorization.response.json<{ device_code: string; user_code: string }>();
    const pending = await measured('/token', form(client, { grant_type: DEVICE, device_code: device.device_code }));
    expect(await pending.response.json()).toMatchObject({ error: 'authorization_pending' });
    const approval = await approveCounted(device.user_code);
    await env.DB.prepare('UPDATE device_codes SET last_polled_at = last_polled_at - interval').run();
    const issued = await measured('/token', form(client, { grant_type: DEVICE, device_code: device.device_code }));
    expect(issued.response.status).toBe(200);
    record('  device authorization', authorization);
    record('  pending poll', pending);
    // The pending login and its answer; then a new user's binding and the approval, one batch.
    expect(record('  handoff approve (device)', approval)).toBe(2);
    // The poll that finds the approval issues in its own batch: claim, grant, refresh token, audit entry, read, poll recorded.
    expect(record('  device token response', issued)).toBe(1);
    expect(issued.calls).toEqual(['D1 batch of 6']);
    expect(record('device flow (whole)', authorization, pending, approval, issued)).toBe(7);
  });
});
