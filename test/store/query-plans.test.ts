/**
 * Cost by user count (docs/scaling.md): every statement the hot paths send to
 * D1 finds its rows through a primary key or an index, so its cost grows with
 * the depth of a B-tree (log n), never with the number of users. The paths run
 * through the app as clients drive them; every statement prepared on any D1
 * binding meanwhile is recorded with its parameters and its plan read back
 * with EXPLAIN QUERY PLAN.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getConfig } from '../../src/config';
import { database } from '../../src/store/db';
import { purge } from '../../src/store/purge';
import { accountCall, MINI_APPID } from '../account/support';
import { adminCall, importUser, uniquePhone } from '../support/admin';
import { approve, authorizeUrl, Browser, browserLogin, pkce, redeem, startLogin, webClientMetadata } from '../support/browser';
import { call, claimsOf, login, mint, postForm, register, uniqueId, type RegisteredClient, type TokenSet } from '../support/oidc';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const APP_APPID = 'wx0000000000app001';
const OTHER_MINI_APPID = 'wx0000000000mini02';

interface Recorded {
  sql: string;
  params: unknown[];
}

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Every statement prepared on D1 while `run` goes, once per SQL text. The
 * spies sit on the binding's prototypes, so they see the app's own binding,
 * which is not the object the test holds.
 */
async function statementsDuring(run: () => Promise<void>): Promise<Recorded[]> {
  const database = Object.getPrototypeOf(env.DB) as D1Database;
  const statement = Object.getPrototypeOf(env.DB.prepare('SELECT 1')) as D1PreparedStatement;
  const { prepare } = database;
  const { bind } = statement;
  const sqlOf = new WeakMap<D1PreparedStatement, string>();
  const seen = new Map<string, Recorded>();
  vi.spyOn(database, 'prepare').mockImplementation(function (this: D1Database, query: string) {
    const prepared = prepare.call(this, query);
    sqlOf.set(prepared, query);
    if (!seen.has(query)) seen.set(query, { sql: query, params: [] });
    return prepared;
  });
  vi.spyOn(statement, 'bind').mockImplementation(function (this: D1PreparedStatement, ...params: unknown[]) {
    const query = sqlOf.get(this);
    if (query !== undefined && seen.get(query)?.params.length === 0) seen.set(query, { sql: query, params });
    return bind.apply(this, params);
  });
  await run();
  // Deferred work (waitUntil: audit rows, deliveries) finishes after the response.
  await new Promise((resolve) => setTimeout(resolve, 50));
  vi.restoreAllMocks();
  return [...seen.values()];
}

/**
 * Scans allowed, each with why its table stays small whatever the user count.
 * An entry no statement needs any more fails the test too, so the list stays true.
 */
const EXCEPTIONS: { statement: RegExp; scan: string; why: string }[] = [
  {
    // The admin API's newest entries: the rowid B-tree walked from its end, stopped by the limit.
    statement: /^select .* from "audit_log" order by "audit_log"\."id" desc limit \?$/,
    scan: 'SCAN audit_log',
    why: 'reads `limit` rows (at most 500) from the end of the table, whatever its size',
  },
];

/** The lines of a statement's plan that read a whole table. */
async function scans({ sql, params }: Recorded): Promise<string[]> {
  const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all<{ detail: string }>();
  // A constant row (INSERT ... SELECT without FROM, VALUES) is no table.
  return plan.results.map((row) => row.detail).filter((detail) => /^SCAN (?!CONSTANT ROW)/.test(detail));
}

const userinfo = (token: string) => call('/userinfo', { headers: { Authorization: `Bearer ${token}` } });
const refresh = (client: Awaited<ReturnType<typeof register>>, token: string) => postForm('/token', client, { grant_type: 'refresh_token', refresh_token: token });

/** A mini program login with a verified phone number (docs/protocol.md §7). */
async function phoneLogin(client: RegisteredClient, person: { openid: string; unionid?: string; phone: string }, appid = MINI_APPID) {
  const { code } = await mint({ kind: 'phone', phone: person.phone, appid });
  return login(client, { kind: 'miniprogram', appid, openid: person.openid, unionid: person.unionid }, { wechat_phone_code: code });
}

/** A person known by a mini program login (with a unionid and a phone number), and their tokens. */
async function somebody() {
  const person = { openid: uniqueId('o-'), unionid: uniqueId('u-'), phone: uniquePhone() };
  const client = await register({ scope: 'openid profile phone offline_access' });
  const tokens = await phoneLogin(client, person);
  return { person, client, tokens, sub: claimsOf(tokens.id_token!).sub as string };
}

/** The hot paths, each as its clients drive it (docs/scaling.md lists them with their writes). */
const paths: [string, () => Promise<void>][] = [
  [
    'token exchange: a new user, the same person again, the person from another app by unionid, a phone linking an imported user',
    async () => {
      const person = { openid: uniqueId('o-'), unionid: uniqueId('u-'), phone: uniquePhone() };
      const client = await register({ scope: 'openid profile phone offline_access' });
      await phoneLogin(client, person);
      await phoneLogin(client, person);
      await login(client, { kind: 'app', appid: APP_APPID, openid: uniqueId('o-'), unionid: person.unionid });
      const phone = uniquePhone();
      const imported = await importUser(phone);
      const linked = await phoneLogin(client, { openid: uniqueId('o-'), phone }, OTHER_MINI_APPID);
      expect(claimsOf(linked.id_token!).sub).toBe(imported);
    },
  ],
  [
    'userinfo: the bearer token checked against its grant, its revocation and its user',
    async () => {
      const { tokens } = await somebody();
      expect((await userinfo(tokens.access_token)).status).toBe(200);
    },
  ],
  [
    'refresh: rotation, then the reuse of a spent token revoking the grant',
    async () => {
      const { client, tokens } = await somebody();
      expect((await refresh(client, tokens.refresh_token!)).status).toBe(200);
      expect((await refresh(client, tokens.refresh_token!)).status).toBe(400);
    },
  ],
  [
    'revocation and introspection',
    async () => {
      const { client, tokens } = await somebody();
      expect((await postForm('/introspect', client, { token: tokens.refresh_token! })).status).toBe(200);
      expect((await postForm('/introspect', client, { token: tokens.access_token })).status).toBe(200);
      expect((await postForm('/revoke', client, { token: tokens.access_token })).status).toBe(200);
      expect((await postForm('/revoke', client, { token: tokens.refresh_token! })).status).toBe(200);
    },
  ],
  [
    'browser login: authorization, the handoff approval, code redemption and its replay, session reuse, logout',
    async () => {
      const client = await register(webClientMetadata);
      const browser = new Browser();
      const { verifier, challenge } = await pkce();
      const person = { openid: uniqueId('o-'), unionid: uniqueId('u-') };
      const code = (await browserLogin(browser, client, { code_challenge: challenge, code_challenge_method: 'S256' }, person)).get('code')!;
      const tokens = await (await redeem(client, code, verifier)).json<TokenSet>();
      expect(tokens.id_token).toBeDefined();
      expect((await redeem(client, code, verifier)).status).toBe(400);
      const again = await pkce();
      const silent = await browser.get(authorizeUrl(client, { prompt: 'none', code_challenge: again.challenge, code_challenge_method: 'S256' }));
      expect(new URL(silent.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
      const pending = await startLogin(new Browser(), authorizeUrl(client));
      expect((await call(`/login/${pending}/status`)).status).toBeLessThan(500);
      const hint = new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://rp.example/signed-out' });
      expect((await browser.get(`/logout?${hint}`)).status).toBe(302);
    },
  ],
  [
    'device flow: authorization, a pending poll, the approval, the poll that gets tokens',
    async () => {
      const client = await register({ token_endpoint_auth_method: 'none', application_type: 'native', grant_types: [DEVICE_CODE, 'refresh_token'] });
      const authorize = async () => (await postForm('/device_authorization', client, { scope: 'openid profile offline_access' })).json<Record<string, string>>();
      const waiting = await authorize();
      expect((await postForm('/token', client, { grant_type: DEVICE_CODE, device_code: waiting.device_code! })).status).toBe(400);
      const approved = await authorize();
      expect((await approve(approved.user_code!)).status).toBe(200);
      expect((await postForm('/token', client, { grant_type: DEVICE_CODE, device_code: approved.device_code! })).status).toBe(200);
    },
  ],
  [
    'client management: read, update, delete',
    async () => {
      const client = await register(webClientMetadata);
      const path = String(client.registration_client_uri).replace(/^http:\/\/localhost:8787/, '');
      const auth = { Authorization: `Bearer ${String(client.registration_access_token)}` };
      expect((await call(path, { headers: auth })).status).toBe(200);
      const update = { ...webClientMetadata, client_id: client.client_id, client_name: 'Renamed' };
      expect((await call(path, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify(update) })).status).toBe(200);
      expect((await call(path, { method: 'DELETE', headers: auth })).status).toBe(204);
    },
  ],
  [
    'admin: lookups by sub, phone, unionid and openid, the audit log, revoking and deleting a user',
    async () => {
      const { person, sub } = await somebody();
      const queries: Record<string, string>[] = [{ sub }, { phone: person.phone }, { unionid: person.unionid }, { openid: person.openid }, { openid: person.openid, appid: MINI_APPID }];
      for (const query of queries) {
        expect((await adminCall('GET', `/admin/users?${new URLSearchParams(query)}`)).status).toBe(200);
      }
      expect((await adminCall('GET', `/admin/audit?${new URLSearchParams({ sub })}`)).status).toBe(200);
      expect((await adminCall('GET', '/admin/audit?limit=10')).status).toBe(200);
      expect((await adminCall('POST', `/admin/users/${sub}/revoke`)).status).toBe(200);
      expect((await adminCall('DELETE', `/admin/users/${sub}`)).status).toBe(200);
    },
  ],
  [
    "the person's account: the list, withdrawing one client, deletion",
    async () => {
      const person = { openid: uniqueId('o-'), unionid: uniqueId('u-') };
      const client = await register({ scope: 'openid profile offline_access' });
      await login(client, { kind: 'miniprogram', appid: MINI_APPID, ...person });
      expect((await accountCall('', person)).status).toBe(200);
      expect((await accountCall('/revoke', person, { client_id: client.client_id })).status).toBe(200);
      expect((await accountCall('/delete', person)).status).toBe(200);
    },
  ],
  [
    'the scheduled purge',
    async () => {
      await purge(database(env.DB), getConfig(env).ttl, Math.floor(Date.now() / 1000));
    },
  ],
];

const excused = new Set<(typeof EXCEPTIONS)[number]>();

describe('every statement of the hot paths finds its rows through an index (docs/scaling.md)', () => {
  it.each(paths)('%s', async (_, run) => {
    const statements = await statementsDuring(run);
    expect(statements.length).toBeGreaterThan(0);
    const found: string[] = [];
    for (const statement of statements) {
      const lines = (await scans(statement)).filter((line) => {
        const exception = EXCEPTIONS.find((candidate) => candidate.statement.test(statement.sql) && candidate.scan === line);
        if (exception) excused.add(exception);
        return !exception;
      });
      if (lines.length > 0) found.push(`${statement.sql}\n  -> ${lines.join(' | ')}`);
    }
    expect(found, found.join('\n\n')).toEqual([]);
  });

  it('every exception is still needed', () => {
    expect(EXCEPTIONS.filter((exception) => !excused.has(exception)).map((exception) => exception.statement.source)).toEqual([]);
  });
});
