/**
 * WeChat's own web logins (docs/protocol.md §5a): the Official Account inside
 * WeChat's browser and the Website App's QR login on a desktop, through the
 * sandbox's WeChat, with a browser's cookies.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { authorizeUrl, Browser, REDIRECT_URI, redeem, startLogin, webClientMetadata } from '../support/browser';
import { claimsOf, mint, MINIPROGRAM_CODE, postForm, register, TOKEN_EXCHANGE, type RegisteredClient } from '../support/oidc';

const WECHAT_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN';
const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';
const OA = 'wx00000000000oa001';
const WEBSITE = 'wx0000000000web001';

const approvals = async () => (await env.DB.prepare('SELECT count(*) AS n FROM login_approvals').first<{ n: number }>())!.n;

/** Follows the login to WeChat's page: the state WeChat would carry back, and the scope asked for. */
async function toWeChat(browser: Browser, loginId: string, door: 'officialaccount' | 'website', userAgent: string, query = '') {
  const response = await browser.get(`/login/${loginId}/wechat/${door}${query}`, { 'User-Agent': userAgent });
  expect(response.status).toBe(302);
  const page = new URL(response.headers.get('Location')!);
  expect(page.hash).toBe('#wechat_redirect');
  expect(page.searchParams.get('redirect_uri')).toBe('http://localhost:8787/wechat/callback');
  return { page, state: page.searchParams.get('state')!, scope: page.searchParams.get('scope')! };
}

/** WeChat's answer: a code of that door's kind for this person, as its page would mint it. */
async function weChatCode(kind: 'officialaccount' | 'website', scope: string, person: { openid?: string; unionid?: string } = {}) {
  return (await mint({ kind, scope, ...person })).code;
}

async function finish(browser: Browser, state: string, code?: string) {
  const query = new URLSearchParams({ state, ...(code && { code }) });
  const back = await browser.get(`/wechat/callback?${query}`);
  return back;
}

async function toClient(browser: Browser, loginId: string) {
  const back = await browser.get(`/login/${loginId}/continue`);
  expect(back.status).toBe(302);
  return new URL(back.headers.get('Location')!);
}

async function subOfMiniProgramLogin(client: RegisteredClient, unionid: string) {
  const minted = await mint({ kind: 'miniprogram', unionid });
  const response = await postForm('/token', client, { grant_type: TOKEN_EXCHANGE, subject_token: minted.code, subject_token_type: MINIPROGRAM_CODE, wechat_appid: minted.appid });
  return claimsOf(((await response.json()) as { id_token: string }).id_token).sub;
}

const methodsOf = (html: string) => [...html.matchAll(/data-login-method="([^"]+)"/g)].map((match) => match[1]);

describe('the Official Account, inside WeChat (docs/protocol.md §5a)', () => {
  it('is offered first on the login page, no code to scan; through it, a code whose sub is the same person as a mini program login with that unionid', async () => {
    const client = await register({ ...webClientMetadata, grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE] });
    const browser = new Browser();
    // The authorization request itself serves the page, as it does to WeChat's browser.
    const first = await browser.get(authorizeUrl(client), { 'User-Agent': WECHAT_UA });
    expect(first.status).toBe(200);
    const loginId = /data-login-session="([^"]+)"/.exec(await first.text())![1]!;
    // The page, not a redirect: the person sees whom they sign in to before WeChat's authorization.
    const page = await browser.get(`/login/${loginId}`, { 'User-Agent': WECHAT_UA });
    expect(page.status).toBe(200);
    expect(page.headers.get('Location')).toBeNull();
    const html = await page.text();
    expect(methodsOf(html)).toEqual(['officialaccount', 'open-wechat']);
    expect(html).toMatch(new RegExp(`<a[^>]+data-testid="officialaccount" href="/login/${loginId}/wechat/officialaccount">`));
    expect(html).toContain(webClientMetadata.client_name);
    expect(html).not.toContain(`/login/${loginId}/qr`);
    const { page: wechat, state, scope } = await toWeChat(browser, loginId, 'officialaccount', WECHAT_UA);
    // A profile was asked for (scope profile): the page with consent, not the silent one.
    expect(scope).toBe('snsapi_userinfo');
    expect(wechat.pathname).toBe('/sandbox/wechat/connect/oauth2/authorize');
    expect(wechat.searchParams.get('appid')).toBe(OA);

    const unionid = `u-oa-${crypto.randomUUID()}`;
    const back = await finish(browser, state, await weChatCode('officialaccount', scope, { unionid }));
    expect(back.status).toBe(303);
    expect(back.headers.get('Location')).toBe(`/login/${loginId}/continue`);
    const result = await toClient(browser, loginId);
    expect(`${result.origin}${result.pathname}`).toBe(REDIRECT_URI);
    expect(result.searchParams.get('state')).toBe('state-123');
    const tokens = (await (await redeem(client, result.searchParams.get('code')!)).json()) as { id_token: string };
    expect(claimsOf(tokens.id_token).sub).toBe(await subOfMiniProgramLogin(client, unionid));
  });

  it('asks silently (snsapi_base) when no profile is wanted, and asks again with the page when the person is new', async () => {
    const client = await register(webClientMetadata);
    const person = { openid: `o-oa-${crypto.randomUUID().slice(0, 8)}` };
    for (const round of ['new person', 'known person']) {
      const browser = new Browser();
      const loginId = await startLogin(browser, authorizeUrl(client, { scope: 'openid' }));
      const silent = await toWeChat(browser, loginId, 'officialaccount', WECHAT_UA);
      expect(silent.scope, round).toBe('snsapi_base');
      const back = await finish(browser, silent.state, await weChatCode('officialaccount', 'snsapi_base', person));
      if (round === 'new person') {
        expect(back.status).toBe(302);
        expect(back.headers.get('Location')).toBe(`/login/${loginId}/wechat/officialaccount?profile`);
        const consent = await toWeChat(browser, loginId, 'officialaccount', WECHAT_UA, '?profile');
        expect(consent.scope).toBe('snsapi_userinfo');
        expect((await finish(browser, consent.state, await weChatCode('officialaccount', 'snsapi_userinfo', person))).status).toBe(303);
      } else {
        expect(back.status, round).toBe(303);
      }
      expect((await toClient(browser, loginId)).searchParams.get('code'), round).toBeTruthy();
    }
  });

  it('sends access_denied to the client when the person refuses in WeChat (state, no code)', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    const { state } = await toWeChat(browser, loginId, 'officialaccount', WECHAT_UA);
    expect((await finish(browser, state)).status).toBe(303);
    const result = await toClient(browser, loginId);
    expect(result.searchParams.get('error')).toBe('access_denied');
    expect(result.searchParams.get('state')).toBe('state-123');
  });

  it("does not log a stranger in with someone else's callback URL, and spends nothing", async () => {
    const client = await register(webClientMetadata);
    const victim = new Browser();
    const loginId = await startLogin(victim, authorizeUrl(client));
    const { state, scope } = await toWeChat(victim, loginId, 'officialaccount', WECHAT_UA);
    const code = await weChatCode('officialaccount', scope);
    const before = await approvals();
    const stranger = await finish(new Browser(), state, code);
    expect(stranger.status).toBe(400);
    expect(stranger.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(stranger.headers.get('Location')).toBeNull();
    expect(await approvals()).toBe(before);
    // The code was not spent: the browser that left with this state still gets in, once.
    expect((await finish(victim, state, code)).status).toBe(303);
    expect((await finish(victim, state, code)).status).toBe(400);
    expect((await toClient(victim, loginId)).searchParams.get('code')).toBeTruthy();
  });

  it.each([
    ['no state', ''],
    ['a malformed state', 'state=not*alphanumeric'],
    ['an unknown state', 'state=Abc123&code=x'],
  ])('answers %s with an error page', async (_, query) => {
    const response = await new Browser().get(`/wechat/callback?${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
  });

  it('refuses a used WeChat code with invalid_grant, writing nothing', async () => {
    const client = await register(webClientMetadata);
    const code = await weChatCode('officialaccount', 'snsapi_userinfo');
    // One login spends it; a second login presenting it gets WeChat's 40163.
    const first = new Browser();
    const firstLogin = await startLogin(first, authorizeUrl(client));
    const firstRound = await toWeChat(first, firstLogin, 'officialaccount', WECHAT_UA);
    expect((await finish(first, firstRound.state, code)).status).toBe(303);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    const { state } = await toWeChat(browser, loginId, 'officialaccount', WECHAT_UA);
    const before = await approvals();
    const used = await finish(browser, state, code);
    expect(used.status).toBe(400);
    expect(await used.text()).toContain('already used');
    expect(await approvals()).toBe(before);
  });
});

describe('the Website App, on a desktop (docs/protocol.md §5a)', () => {
  it('offers the QR login beside the mini program code, and logs in through it', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    const page = await (await browser.get(`/login/${loginId}`, { 'User-Agent': DESKTOP_UA })).text();
    expect(methodsOf(page)).toEqual(['miniprogram-code', 'website-qr', 'open-wechat']);
    const { page: wechat, state, scope } = await toWeChat(browser, loginId, 'website', DESKTOP_UA);
    expect(wechat.pathname).toBe('/sandbox/wechat/connect/qrconnect');
    expect(wechat.searchParams.get('appid')).toBe(WEBSITE);
    expect(scope).toBe('snsapi_login');
    expect((await finish(browser, state, await weChatCode('website', scope))).status).toBe(303);
    expect((await toClient(browser, loginId)).searchParams.get('code')).toBeTruthy();
  });

  it('is not offered on a phone, nor to a client limited to its mini program; in WeChat such a client sees the mini program code', async () => {
    const phone = 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36';
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    const onPhone = await (await browser.get(`/login/${loginId}`, { 'User-Agent': phone })).text();
    expect(methodsOf(onPhone)).toEqual(['miniprogram-code', 'open-wechat']);

    const miniOnly = await register({ ...webClientMetadata, wechat_appids: ['wx0000000000mini01'] });
    const other = new Browser();
    const otherLogin = await startLogin(other, authorizeUrl(miniOnly));
    const inWeChat = await other.get(`/login/${otherLogin}`, { 'User-Agent': WECHAT_UA });
    expect(inWeChat.status).toBe(200);
    const html = await inWeChat.text();
    expect(methodsOf(html)).toEqual(['miniprogram-code', 'open-wechat']);
    expect(html).not.toContain('data-login-method="officialaccount"');
    expect((await other.get(`/login/${otherLogin}/wechat/website`)).status).toBe(404);
    expect((await other.get(`/login/${otherLogin}/wechat/officialaccount`)).status).toBe(404);
  });
});

describe("a device's login opened in WeChat's browser", () => {
  it('keeps to the mini program: the Official Account answers browser logins only', async () => {
    const client = await register({ token_endpoint_auth_method: 'none', application_type: 'native', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], client_name: 'TV' });
    const device = (await (await postForm('/device_authorization', client, { scope: 'openid' })).json()) as { user_code: string };
    const browser = new Browser();
    const page = await browser.get(`/login/${device.user_code}`, { 'User-Agent': WECHAT_UA });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-mode="device"');
    expect(methodsOf(html)).toEqual(['miniprogram-code', 'open-wechat']);
    expect((await browser.get(`/login/${device.user_code}/wechat/officialaccount`, { 'User-Agent': WECHAT_UA })).status).toBe(404);
  });
});

describe('the Official Account outside WeChat', () => {
  it.each([
    ['a desktop', DESKTOP_UA, ['miniprogram-code', 'website-qr', 'open-wechat']],
    ['a phone', 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36', ['miniprogram-code', 'open-wechat']],
  ])('is not offered on %s', async (_, userAgent, expected) => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    const page = await browser.get(`/login/${loginId}`, { 'User-Agent': userAgent });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(methodsOf(html)).toEqual(expected);
    expect(html).not.toContain('/wechat/officialaccount');
  });
});
