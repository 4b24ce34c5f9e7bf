/**
 * `POST /wechat/account/delete` (docs/protocol.md "Leaving"): the person
 * deletes their account from the mini program. Nothing of them stays in any
 * table; every token stops at once; the next login is somebody new.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deletionStatements } from '../../src/store/accounts';
import { database } from '../../src/store/db';
import { sendWatched } from '../hostile/support';
import { uniquePhone } from '../support/admin';
import { Browser, browserLogin, pkce, redeem, webClientMetadata } from '../support/browser';
import { call, claimsOf, login, mint, postForm, register, uniqueId, type RegisteredClient, type TokenSet } from '../support/oidc';
import { accountCall, auditOf, MINI_APPID, postAccount, rowsNaming, watchDeliveries } from './support';

afterEach(() => {
  vi.restoreAllMocks();
});

const userinfo = (token: string) => call('/userinfo', { headers: { Authorization: `Bearer ${token}` } });
const refresh = (client: RegisteredClient, token: string) => postForm('/token', client, { grant_type: 'refresh_token', refresh_token: token });
const introspect = async (client: RegisteredClient, token: string) => (await postForm('/introspect', client, { token })).json<{ active: boolean }>();

/** A person with a mini program identity (phone verified), a mobile app identity linked by unionid, a token exchange grant and a browser session with its grant. */
async function somebody() {
  const person = { openid: uniqueId('o-mini-'), unionid: uniqueId('u-'), phone: uniquePhone(), appOpenid: uniqueId('o-app-') };
  const native = await register({ scope: 'openid profile phone wechat offline_access' });
  const phoneCode = (await mint({ kind: 'phone', phone: person.phone, appid: MINI_APPID })).code;
  const identity = { kind: 'miniprogram', appid: MINI_APPID, openid: person.openid, unionid: person.unionid } as const;
  const nativeTokens = await login(native, identity, { wechat_phone_code: phoneCode, scope: 'openid profile phone wechat offline_access' });
  const sub = claimsOf(nativeTokens.id_token!).sub as string;
  const appTokens = await login(native, { kind: 'app', openid: person.appOpenid, unionid: person.unionid });
  expect(claimsOf(appTokens.id_token!).sub).toBe(sub);

  const web = await register({ ...webClientMetadata, token_endpoint_auth_method: 'client_secret_basic' });
  const browser = new Browser();
  const { verifier, challenge } = await pkce();
  const back = await browserLogin(browser, web, { code_challenge: challenge, code_challenge_method: 'S256' }, { openid: person.openid, unionid: person.unionid });
  const webTokens = await (await redeem(web, back.get('code')!, verifier)).json<TokenSet>();
  expect(claimsOf(webTokens.id_token!).sub).toBe(sub);
  return { person, sub, native, nativeTokens, appTokens, web, webTokens, browser };
}

describe('POST /wechat/account/delete', () => {
  it('deletes every row naming the person, in every table; the audit log keeps only the opaque sub', async () => {
    const { person, sub } = await somebody();
    const names = [person.openid, person.unionid, person.phone, person.appOpenid];
    expect((await rowsNaming([sub, ...names])).length).toBeGreaterThan(5);

    const response = await accountCall('/delete', person);
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(await response.json()).toEqual({ status: 'deleted' });

    expect(await rowsNaming([sub, ...names], ['audit_log'])).toEqual([]);
    expect(await rowsNaming(names)).toEqual([]);
    expect((await auditOf(sub))[0]).toEqual({ event: 'user.deleted', actor: 'user', client_id: null, detail: { grants: 3 } });
    expect((await env.DB.prepare('PRAGMA foreign_key_check').all()).results).toEqual([]);
  });

  it('stops every token at once: userinfo 401, refresh invalid_grant, introspection inactive', async () => {
    const { person, native, nativeTokens, appTokens, web, webTokens } = await somebody();
    for (const tokens of [nativeTokens, appTokens, webTokens]) expect((await userinfo(tokens.access_token)).status).toBe(200);

    expect((await accountCall('/delete', person)).status).toBe(200);

    for (const [client, tokens] of [[native, nativeTokens], [native, appTokens], [web, webTokens]] as const) {
      expect((await userinfo(tokens.access_token)).status).toBe(401);
      expect(await introspect(client, tokens.access_token)).toEqual({ active: false });
      expect(await introspect(client, tokens.refresh_token!)).toEqual({ active: false });
      const refused = await refresh(client, tokens.refresh_token!);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
    }
  });

  it('refuses an authorization code issued before the deletion, and the session that issued it is gone', async () => {
    const { person, web, browser } = await somebody();
    const { verifier, challenge } = await pkce();
    // The browser's session answers silently: a code for the person, not yet redeemed.
    const silent = await browser.get(`/authorize?${new URLSearchParams({ client_id: web.client_id, redirect_uri: webClientMetadata.redirect_uris[0]!, response_type: 'code', scope: 'openid profile phone offline_access', code_challenge: challenge, code_challenge_method: 'S256', prompt: 'none' })}`);
    const code = new URL(silent.headers.get('Location')!).searchParams.get('code');
    expect(code).toBeTruthy();

    expect((await accountCall('/delete', person)).status).toBe(200);

    const redeemed = await redeem(web, code!, verifier);
    expect(redeemed.status).toBe(400);
    expect(await redeemed.json()).toMatchObject({ error: 'invalid_grant' });
    const again = await browser.get(`/authorize?${new URLSearchParams({ client_id: web.client_id, redirect_uri: webClientMetadata.redirect_uris[0]!, response_type: 'code', scope: 'openid', prompt: 'none' })}`);
    expect(new URL(again.headers.get('Location')!).searchParams.get('error')).toBe('login_required');
  });

  it('makes the next WeChat login of the same person a new user with a new sub', async () => {
    const { person, sub, native } = await somebody();
    expect((await accountCall('/delete', person)).status).toBe(200);
    const after = await login(native, { kind: 'miniprogram', appid: MINI_APPID, openid: person.openid, unionid: person.unionid });
    const fresh = claimsOf(after.id_token!);
    expect(fresh.sub).not.toBe(sub);
    expect(fresh.phone_number).toBeUndefined();
    expect((await auditOf(fresh.sub as string)).map((entry) => entry.event)).toEqual(['login', 'user.created']);
  });

  it('logs every relying party of a live grant out and announces user.deleted, after the response', async () => {
    const { person, sub, native, web } = await somebody();
    const sent = watchDeliveries();
    expect((await accountCall('/delete', person)).status).toBe(200);
    const deliveries = sent();
    const logouts = deliveries.flatMap((delivery) => (delivery.kind === 'logout' ? [delivery.logout] : []));
    expect(logouts.map((logout) => logout.clientId).sort()).toEqual([native.client_id, web.client_id].sort());
    for (const logout of logouts) expect(logout.userId).toBe(sub);
    const events = deliveries.flatMap((delivery) => (delivery.kind === 'event' ? [delivery.event] : []));
    expect(events).toEqual([{ type: 'user.deleted', at: expect.any(Number), data: { sub, by: 'user' } }]);
    expect(JSON.stringify(deliveries)).not.toContain(person.openid);
  });

  it('answers 404 for a WeChat account it does not know, and again after a deletion, writing nothing', async () => {
    const { person } = await somebody();
    expect((await accountCall('/delete', person)).status).toBe(200);
    for (const who of [{ openid: person.openid, unionid: person.unionid }, { openid: uniqueId('o-stranger-') }]) {
      const minted = await mint({ kind: 'miniprogram', appid: MINI_APPID, ...who });
      const { response, unchanged } = await sendWatched('/wechat/account/delete', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: minted.code, appid: MINI_APPID }),
      });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'user_not_found' });
      unchanged();
    }
  });

  it('refuses a bad code (400 invalid_grant), a bad body and an unknown appid (400 invalid_request), deleting nothing', async () => {
    const { person, sub } = await somebody();
    const used = await mint({ kind: 'miniprogram', appid: MINI_APPID, openid: person.openid, unionid: person.unionid });
    expect((await postAccount('', { code: used.code, appid: MINI_APPID })).status).toBe(200);
    const cases: [unknown, number, string][] = [
      [{ code: used.code, appid: MINI_APPID }, 400, 'invalid_grant'],
      [{ code: 'not a code!', appid: MINI_APPID }, 400, 'invalid_grant'],
      [{ appid: MINI_APPID }, 400, 'invalid_request'],
      [{ code: 42 }, 400, 'invalid_request'],
      [{ code: 'abc', appid: 'wx0000000000app001' }, 400, 'invalid_request'],
      [[], 400, 'invalid_request'],
      ['{"code":', 400, 'invalid_request'],
    ];
    for (const [body, status, error] of cases) {
      const { response, unchanged } = await sendWatched('/wechat/account/delete', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(await response.json()).toMatchObject({ error });
      unchanged();
    }
    expect(await rowsNaming([sub], ['audit_log'])).not.toEqual([]);
  });
});

describe('the deletion batch', () => {
  it('finds its rows through indexes: no statement scans a whole table', async () => {
    const db = database(env.DB);
    for (const statement of deletionStatements(db, uniqueId('user-'), 'user', Math.floor(Date.now() / 1000))) {
      const query = statement.toSQL();
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).bind(...query.params).all<{ detail: string }>();
      const details = plan.results.map((row) => row.detail);
      // A constant row (INSERT ... SELECT without FROM) is no table.
      expect(details.filter((detail) => /^SCAN (?!CONSTANT ROW)/.test(detail)), `${query.sql}: ${details.join(' | ')}`).toEqual([]);
    }
  });
});
