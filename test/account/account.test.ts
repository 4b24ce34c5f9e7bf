/**
 * The person's account page in the mini program (docs/protocol.md
 * "Leaving"): `POST /wechat/account` lists the applications they approved,
 * `POST /wechat/account/revoke` withdraws one. Each call proves the person
 * with a fresh wx.login code.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sendWatched } from '../hostile/support';
import { authorizeUrl, Browser, browserLogin, pkce, redeem, webClientMetadata } from '../support/browser';
import { call, claimsOf, login, mint, register, uniqueId, type TokenSet } from '../support/oidc';
import { accountCall, auditOf, MINI_APPID, watchDeliveries } from './support';

afterEach(() => {
  vi.restoreAllMocks();
});

const userinfo = (token: string) => call('/userinfo', { headers: { Authorization: `Bearer ${token}` } });

/** A person logged in to a native client (token exchange) and, in a browser, to a web client. */
async function approvedTwo() {
  const person = { openid: uniqueId('o-'), unionid: uniqueId('u-') };
  const native = await register({ client_name: 'Native App', scope: 'openid profile offline_access' });
  const nativeTokens = await login(native, { kind: 'miniprogram', appid: MINI_APPID, ...person }, { scope: 'openid profile' });
  const web = await register({ ...webClientMetadata, client_name: 'Web Shop', client_uri: 'https://shop.example', logo_uri: 'https://shop.example/logo.png' });
  const browser = new Browser();
  const { verifier, challenge } = await pkce();
  const back = await browserLogin(browser, web, { code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid phone' }, person);
  const webTokens = await (await redeem(web, back.get('code')!, verifier)).json<TokenSet>();
  return { person, sub: claimsOf(nativeTokens.id_token!).sub as string, native, nativeTokens, web, webTokens, browser };
}

describe('POST /wechat/account: the applications the person approved', () => {
  it('lists each client with a live grant once: its name, site and logo, every scope granted, the latest login; newest first', async () => {
    const { person, native, web } = await approvedTwo();
    // A second grant to the native client, with another scope: one entry, the scopes together.
    await login(native, { kind: 'miniprogram', appid: MINI_APPID, ...person }, { scope: 'openid offline_access' });
    const response = await accountCall('', person);
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const { clients } = await response.json<{ clients: Record<string, unknown>[] }>();
    const byId = new Map(clients.map((client) => [client.client_id, client]));
    expect(clients).toHaveLength(2);
    expect(byId.get(native.client_id)).toEqual({ client_id: native.client_id, client_name: 'Native App', scopes: ['openid', 'profile', 'offline_access'], last_login_at: expect.any(Number) });
    expect(byId.get(web.client_id)).toEqual({
      client_id: web.client_id,
      client_name: 'Web Shop',
      client_uri: 'https://shop.example',
      logo_uri: 'https://shop.example/logo.png',
      scopes: ['openid', 'phone'],
      last_login_at: expect.any(Number),
    });
    expect(clients[0]!.last_login_at as number).toBeGreaterThanOrEqual(clients[1]!.last_login_at as number);
    expect(JSON.stringify(clients)).not.toContain(person.openid);
  });

  it('finds the person by unionid from another mini program, and lists nothing for someone without grants', async () => {
    const { person, native } = await approvedTwo();
    const other = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini02', openid: uniqueId('o-other-'), unionid: person.unionid });
    const byUnionid = await call('/wechat/account', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: other.code, appid: other.appid }) });
    expect(byUnionid.status).toBe(200);
    expect((await byUnionid.json<{ clients: { client_id: string }[] }>()).clients.map((client) => client.client_id)).toContain(native.client_id);

    const lonely = { openid: uniqueId('o-') };
    const tokens = await login(native, { kind: 'miniprogram', appid: MINI_APPID, ...lonely }, { scope: 'openid offline_access' });
    expect((await call('/revoke', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${btoa(`${native.client_id}:${native.client_secret}`)}` }, body: new URLSearchParams({ token: tokens.refresh_token! }) })).status).toBe(200);
    expect(await (await accountCall('', lonely)).json()).toEqual({ clients: [] });
  });

  it('answers 404 to a WeChat account it does not know', async () => {
    const response = await accountCall('', { openid: uniqueId('o-stranger-') });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'user_not_found' });
  });
});

describe('POST /wechat/account/revoke: withdrawing one application', () => {
  it("revokes that client's grants, takes it out of the person's sessions, logs it out, and leaves the other client alone", async () => {
    const { person, sub, native, nativeTokens, web, webTokens, browser } = await approvedTwo();
    const sent = watchDeliveries();
    const response = await accountCall('/revoke', person, { client_id: web.client_id });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ client_id: web.client_id, grants_revoked: 1 });

    expect((await userinfo(webTokens.access_token)).status).toBe(401);
    expect((await userinfo(nativeTokens.access_token)).status).toBe(200);
    // The browser's session no longer answers the web client silently: the person must approve it again.
    const silent = await browser.get(authorizeUrl(web, { prompt: 'none' }));
    expect(new URL(silent.headers.get('Location')!).searchParams.get('error')).toBe('consent_required');
    expect((await (await accountCall('', person)).json<{ clients: { client_id: string }[] }>()).clients.map((client) => client.client_id)).toEqual([native.client_id]);

    const logouts = sent().flatMap((delivery) => (delivery.kind === 'logout' ? [delivery.logout] : []));
    expect(logouts).toEqual([{ clientId: web.client_id, userId: sub, sid: expect.any(String) }]);
    expect((await auditOf(sub)).find((entry) => entry.event === 'client.revoked')).toEqual({ event: 'client.revoked', actor: 'user', client_id: web.client_id, detail: { grants: 1 } });
  });

  it('refuses an unknown client (404) before spending the code, and a missing or malformed client_id (400), changing nothing', async () => {
    const { person } = await approvedTwo();
    const minted = await mint({ kind: 'miniprogram', appid: MINI_APPID, ...person });
    for (const [clientId, status, error] of [
      [uniqueId('nobody-'), 404, 'client_not_found'],
      ['a"b', 404, 'client_not_found'],
      [undefined, 400, 'invalid_request'],
      [7, 400, 'invalid_request'],
    ] as const) {
      const { response, unchanged } = await sendWatched('/wechat/account/revoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: minted.code, appid: MINI_APPID, client_id: clientId }),
      });
      expect(response.status, String(clientId)).toBe(status);
      expect(await response.json()).toMatchObject({ error });
      unchanged();
    }
    // The code was never sent to WeChat: it still works.
    expect((await call('/wechat/account', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: minted.code, appid: MINI_APPID }) })).status).toBe(200);
  });
});
