/**
 * The audit log (docs/protocol.md "The audit log"): each kind of event is
 * recorded, with its actor, client and door, never an openid, unionid or
 * phone number; `GET /admin/audit` reads it newest first. Logins also go out
 * as webhook events (login.succeeded, user.created, user.linked).
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditOf, MINI_APPID, watchDeliveries } from '../account/support';
import { adminCall, importUser, uniquePhone } from '../support/admin';
import { approve, authorizeUrl, Browser, browserLogin, deny, startLogin, webClientMetadata } from '../support/browser';
import { claimsOf, login, mint, postForm, register, uniqueId } from '../support/oidc';

afterEach(() => {
  vi.restoreAllMocks();
});

const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';

/** Every audit row that holds any of `values`, anywhere. */
const auditRowsNaming = async (values: readonly string[]) =>
  (await env.DB.prepare('SELECT * FROM audit_log').all()).results.map((row) => JSON.stringify(row)).filter((text) => values.some((value) => text.includes(value)));

interface Entry {
  at: number;
  event: string;
  actor: string;
  sub: string | null;
  client_id: string | null;
  detail: Record<string, unknown> | null;
}

const readAudit = async (query: string) => {
  const response = await adminCall('GET', `/admin/audit${query}`);
  expect(response.status, query).toBe(200);
  return (await response.json<{ entries: Entry[] }>()).entries;
};

describe('what the audit log records', () => {
  it('a token exchange: user.created then login through the door, and the webhooks user.created and login.succeeded', async () => {
    const client = await register();
    const person = { openid: uniqueId('o-'), unionid: uniqueId('u-') };
    const sent = watchDeliveries();
    const tokens = await login(client, { kind: 'miniprogram', appid: MINI_APPID, ...person });
    const sub = claimsOf(tokens.id_token!).sub as string;
    expect(await auditOf(sub)).toEqual([
      { event: 'login', actor: 'user', client_id: client.client_id, detail: { door: 'miniprogram', appid: MINI_APPID } },
      { event: 'user.created', actor: 'user', client_id: client.client_id, detail: { appid: MINI_APPID } },
    ]);
    const data = { sub, client_id: client.client_id, door: 'miniprogram', wechat_appid: MINI_APPID };
    expect(sent()).toEqual([
      { kind: 'event', event: { type: 'user.created', at: expect.any(Number), data } },
      { kind: 'event', event: { type: 'login.succeeded', at: expect.any(Number), data } },
    ]);

    // The same person through the mobile app: linked by unionid.
    await login(client, { kind: 'app', openid: uniqueId('o-app-'), unionid: person.unionid });
    expect((await auditOf(sub)).slice(0, 2)).toEqual([
      { event: 'login', actor: 'user', client_id: client.client_id, detail: { door: 'app', appid: 'wx0000000000app001' } },
      { event: 'user.linked', actor: 'user', client_id: client.client_id, detail: { appid: 'wx0000000000app001', how: 'unionid' } },
    ]);
    expect(sent().slice(2).map((delivery) => delivery.kind === 'event' && delivery.event.type)).toEqual(['user.linked', 'login.succeeded']);
    expect(await auditRowsNaming([person.openid, person.unionid])).toEqual([]);
  });

  it('an imported user, then linked by a verified phone number', async () => {
    const phone = uniquePhone();
    const sub = await importUser(phone);
    expect(await auditOf(sub)).toEqual([{ event: 'user.imported', actor: 'admin', client_id: null, detail: null }]);
    const client = await register();
    const code = await mint({ kind: 'miniprogram', appid: MINI_APPID, openid: uniqueId('o-') });
    const phoneCode = (await mint({ kind: 'phone', phone, appid: MINI_APPID })).code;
    const response = await postForm('/token', client, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: code.code,
      subject_token_type: 'urn:wechat:token-type:miniprogram_code',
      wechat_appid: MINI_APPID,
      wechat_phone_code: phoneCode,
      scope: 'openid phone',
    });
    expect(claimsOf((await response.json<{ id_token: string }>()).id_token).sub).toBe(sub);
    expect((await auditOf(sub)).map((entry) => [entry.event, entry.detail?.how])).toEqual([
      ['login', undefined],
      ['user.linked', 'phone'],
      ['user.imported', undefined],
    ]);
    expect(await auditRowsNaming([phone, phone.slice(1)])).toEqual([]);
  });

  it("a browser login: the mini program's approval, the login, then a session's reuse; and a denial, naming nobody", async () => {
    const client = await register(webClientMetadata);
    const person = { openid: uniqueId('o-') };
    const browser = new Browser();
    await browserLogin(browser, client, {}, person);
    const silent = await browser.get(authorizeUrl(client, { prompt: 'none' }));
    expect(new URL(silent.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
    const sub = (await env.DB.prepare('SELECT user_id FROM wechat_identities WHERE openid = ?').bind(person.openid).first<{ user_id: string }>())!.user_id;
    // The reuse is written after the response: the entry is there once the deferred work ran.
    await vi.waitFor(async () => expect((await auditOf(sub)).length).toBe(4));
    expect(await auditOf(sub)).toEqual([
      { event: 'login', actor: 'user', client_id: client.client_id, detail: { door: 'session', appid: MINI_APPID } },
      { event: 'login', actor: 'user', client_id: client.client_id, detail: { door: 'miniprogram', appid: MINI_APPID } },
      { event: 'login.approved', actor: 'user', client_id: client.client_id, detail: { door: 'miniprogram', appid: MINI_APPID } },
      { event: 'user.created', actor: 'user', client_id: client.client_id, detail: { appid: MINI_APPID } },
    ]);

    const loginId = await startLogin(new Browser(), authorizeUrl(client));
    expect((await deny(loginId, { openid: uniqueId('o-') })).status).toBe(200);
    const denials = await env.DB.prepare("SELECT user_id, client_id, detail FROM audit_log WHERE event = 'login.denied' AND client_id = ?").bind(client.client_id).all();
    expect(denials.results).toEqual([{ user_id: null, client_id: client.client_id, detail: JSON.stringify({ door: 'miniprogram', appid: MINI_APPID }) }]);
  });

  it("the Website App's door on a desktop", async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    const away = await browser.get(`/login/${loginId}/wechat/website`, { 'User-Agent': DESKTOP_UA });
    const state = new URL(away.headers.get('Location')!).searchParams.get('state')!;
    const openid = uniqueId('o-web-');
    const code = (await mint({ kind: 'website', scope: 'snsapi_login', openid })).code;
    expect((await browser.get(`/wechat/callback?${new URLSearchParams({ state, code })}`)).status).toBe(303);
    expect((await browser.get(`/login/${loginId}/continue`)).status).toBe(302);
    const sub = (await env.DB.prepare('SELECT user_id FROM wechat_identities WHERE openid = ?').bind(openid).first<{ user_id: string }>())!.user_id;
    expect((await auditOf(sub)).map((entry) => [entry.event, entry.detail?.door])).toEqual([
      ['login', 'website'],
      ['login.approved', 'website'],
      ['user.created', undefined],
    ]);
  });

  it('a device login: approved in the mini program, the login when the device gets its tokens', async () => {
    const client = await register({ grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], token_endpoint_auth_method: 'none' });
    const started = await postForm('/device_authorization', client, { scope: 'openid' });
    const { device_code: deviceCode, user_code: userCode } = await started.json<{ device_code: string; user_code: string }>();
    expect((await approve(userCode, { openid: uniqueId('o-') })).status).toBe(200);
    const tokens = await postForm('/token', client, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode });
    expect(tokens.status).toBe(200);
    const sub = claimsOf((await tokens.json<{ id_token: string }>()).id_token).sub as string;
    expect((await auditOf(sub)).map((entry) => [entry.event, entry.detail?.door])).toEqual([
      ['login', 'miniprogram'],
      ['login.approved', 'miniprogram'],
      ['user.created', undefined],
    ]);
  });
});

describe('GET /admin/audit', () => {
  it("reads one user's entries or everyone's, newest first, at most limit", async () => {
    const client = await register();
    const person = { openid: uniqueId('o-') };
    const sub = claimsOf((await login(client, { kind: 'miniprogram', appid: MINI_APPID, ...person })).id_token!).sub as string;
    await login(client, { kind: 'miniprogram', appid: MINI_APPID, ...person });
    const mine = await readAudit(`?sub=${sub}`);
    expect(mine.map((entry) => entry.event)).toEqual(['login', 'login', 'user.created']);
    expect(mine[0]).toEqual({ at: expect.any(Number), event: 'login', actor: 'user', sub, client_id: client.client_id, detail: { door: 'miniprogram', appid: MINI_APPID } });
    expect(mine[0]!.at).toBeGreaterThanOrEqual(mine[2]!.at);
    expect(await readAudit(`?sub=${sub}&limit=1`)).toEqual([mine[0]]);

    const everyone = await readAudit('');
    expect(everyone.length).toBeLessThanOrEqual(50);
    expect(everyone[0]).toEqual(mine[0]);
    expect(await readAudit('?limit=2')).toEqual(everyone.slice(0, 2));
    expect((await readAudit('?limit=500')).length).toBeGreaterThanOrEqual(everyone.length);
    expect(await readAudit(`?sub=${uniqueId('nobody-')}`)).toEqual([]);
  });

  it.each(['limit=0', 'limit=501', 'limit=-1', 'limit=1.5', 'limit=ten', 'limit=', 'limit=1&limit=2', 'user=abc', 'sub='])('refuses ?%s with 400 invalid_request', async (query) => {
    const response = await adminCall('GET', `/admin/audit?${query}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });
});
