/**
 * `acr` and `amr` per way in (docs/protocol.md "Authentication context",
 * OpenID Connect Core §2, RFC 8176): each door the harness can drive gives its
 * own values in the ID token, and keeps them through a refresh and a
 * session's silent answer; `acr_values` puts its door first on the login page;
 * the `claims` parameter's essential `acr` (§5.5.1.1) is met or the login
 * fails with unmet_authentication_requirements (OpenID Connect Core 1.0
 * incorporating errata set 2, §3.1.2.6), with nothing issued.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { orderDoors } from '../../src/login/doors';
import { acrOf, amrOf, meetsAcr } from '../../src/tokens/acr';
import { approve, authorizeUrl, Browser, REDIRECT_URI, redeem, startLogin, webClientMetadata } from '../support/browser';
import { APP_CODE, call, claimsOf, exchange, ISSUER, mint, MINIPROGRAM_CODE, postForm, register } from '../support/oidc';

const ACR = {
  miniprogramApproval: 'urn:wechat:acr:miniprogram_approval',
  app: 'urn:wechat:acr:app',
  miniprogram: 'urn:wechat:acr:miniprogram',
  officialaccount: 'urn:wechat:acr:officialaccount',
  website: 'urn:wechat:acr:website',
};
const WECHAT_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN';
const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';
const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

const essential = (...values: string[]) => ({ claims: JSON.stringify({ id_token: { acr: { essential: true, values } } }) });
const methods = (html: string) => [...html.matchAll(/data-login-method="([^"]+)"/g)].map((match) => match[1]);
const count = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

async function idTokenOf(response: Response) {
  expect(response.status).toBe(200);
  const tokens = await response.json<{ id_token: string; refresh_token?: string }>();
  return { claims: claimsOf(tokens.id_token), refreshToken: tokens.refresh_token };
}

/** A browser login through one of WeChat's web doors, as far as the client's redirect_uri. */
async function throughWebDoor(browser: Browser, loginId: string, door: 'officialaccount' | 'website', userAgent: string) {
  const left = await browser.get(`/login/${loginId}/wechat/${door}`, { 'User-Agent': userAgent });
  expect(left.status).toBe(302);
  const wechat = new URL(left.headers.get('Location')!);
  const scope = wechat.searchParams.get('scope')!;
  const { code } = await mint({ kind: door, scope, unionid: `u-acr-${crypto.randomUUID()}` });
  const callback = await browser.get(`/wechat/callback?${new URLSearchParams({ state: wechat.searchParams.get('state')!, code })}`);
  expect(callback.status).toBe(303);
  return browser.get(`/login/${loginId}/continue`);
}

const backAt = (response: Response) => {
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('Location')!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  return location.searchParams;
};

describe('discovery (OpenID Connect Discovery 1.0 §3)', () => {
  it('lists the five acr values, the claims parameter, and acr among the claims', async () => {
    const doc = await (await call('/.well-known/openid-configuration')).json<Record<string, unknown>>();
    expect(doc.acr_values_supported).toEqual(Object.values(ACR));
    expect(doc.claims_parameter_supported).toBe(true);
    expect(doc.claims_supported).toEqual(expect.arrayContaining(['acr', 'amr']));
  });
});

describe('acr and amr, door by door', () => {
  it('the mobile app (token exchange of an OpenSDK code): urn:wechat:acr:app, wechat_app; kept by a refresh', async () => {
    const client = await register();
    const minted = await mint({ kind: 'app' });
    const first = await idTokenOf(await exchange(client, minted.code, APP_CODE));
    expect(first.claims).toMatchObject({ acr: ACR.app, amr: ['wechat_app'] });
    const refreshed = await idTokenOf(await postForm('/token', client, { grant_type: 'refresh_token', refresh_token: first.refreshToken! }));
    expect(refreshed.claims).toMatchObject({ acr: ACR.app, amr: ['wechat_app'] });
  });

  it('the mini program (token exchange of a wx.login code): urn:wechat:acr:miniprogram, wechat_miniprogram', async () => {
    const client = await register();
    const minted = await mint({ kind: 'miniprogram' });
    const { claims } = await idTokenOf(await exchange(client, minted.code, MINIPROGRAM_CODE, { wechat_appid: minted.appid }));
    expect(claims).toMatchObject({ acr: ACR.miniprogram, amr: ['wechat_miniprogram'] });
  });

  it('a browser login approved in the mini program: miniprogram_approval, wechat_miniprogram and mca (RFC 8176: two channels); the session keeps it', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    expect((await approve(loginId)).status).toBe(200);
    const code = backAt(await browser.get(`/login/${loginId}/continue`)).get('code')!;
    const { claims } = await idTokenOf(await redeem(client, code));
    expect(claims).toMatchObject({ acr: ACR.miniprogramApproval, amr: ['wechat_miniprogram', 'mca'] });

    const silent = backAt(await browser.get(authorizeUrl(client, { prompt: 'none' }))).get('code')!;
    expect((await idTokenOf(await redeem(client, silent))).claims).toMatchObject({ acr: ACR.miniprogramApproval, amr: ['wechat_miniprogram', 'mca'] });
  });

  it('a device login approved in the mini program (RFC 8628): miniprogram_approval', async () => {
    const client = await register({ token_endpoint_auth_method: 'none', application_type: 'native', grant_types: [DEVICE_CODE], client_name: 'TV' });
    const device = await (await postForm('/device_authorization', client, { scope: 'openid' })).json<Record<string, string>>();
    expect((await approve(device.user_code!)).status).toBe(200);
    const { claims } = await idTokenOf(await postForm('/token', client, { grant_type: DEVICE_CODE, device_code: device.device_code! }));
    expect(claims).toMatchObject({ acr: ACR.miniprogramApproval, amr: ['wechat_miniprogram', 'mca'] });
  });

  it("the Official Account in WeChat's browser: urn:wechat:acr:officialaccount, wechat_officialaccount", async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    const code = backAt(await throughWebDoor(browser, loginId, 'officialaccount', WECHAT_UA)).get('code')!;
    expect((await idTokenOf(await redeem(client, code))).claims).toMatchObject({ acr: ACR.officialaccount, amr: ['wechat_officialaccount'] });
  });

  it('the Website App on a desktop: urn:wechat:acr:website, wechat_website and mca', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    const code = backAt(await throughWebDoor(browser, loginId, 'website', DESKTOP_UA)).get('code')!;
    expect((await idTokenOf(await redeem(client, code))).claims).toMatchObject({ acr: ACR.website, amr: ['wechat_website', 'mca'] });
  });
});

describe('acr_values: a preference (OpenID Connect Core §3.1.2.1)', () => {
  it("puts the Website App's door first on a desktop when its acr is asked for, the mini program code first otherwise", async () => {
    const client = await register(webClientMetadata);
    const page = async (params: Record<string, string>) => {
      const browser = new Browser();
      const loginId = await startLogin(browser, authorizeUrl(client, params));
      return methods(await (await browser.get(`/login/${loginId}`, { 'User-Agent': DESKTOP_UA })).text());
    };
    expect(await page({})).toEqual(['miniprogram-code', 'website-qr', 'open-wechat']);
    expect(await page({ acr_values: ACR.website })).toEqual(['website-qr', 'miniprogram-code', 'open-wechat']);
    // A voluntary acr claim is the same preference; an unknown value changes nothing.
    expect(await page({ claims: JSON.stringify({ id_token: { acr: { values: [ACR.website] } } }) })).toEqual(['website-qr', 'miniprogram-code', 'open-wechat']);
    expect(await page({ acr_values: 'urn:example:unknown' })).toEqual(['miniprogram-code', 'website-qr', 'open-wechat']);
  });

  it("in WeChat's browser, the Official Account leads, after the mini program's link when that is preferred; never a code to scan", async () => {
    const client = await register(webClientMetadata);
    for (const [params, expected] of [
      [{}, ['officialaccount', 'open-wechat']],
      [{ acr_values: ACR.miniprogramApproval }, ['open-wechat', 'officialaccount']],
    ] as const) {
      const browser = new Browser();
      const loginId = await startLogin(browser, authorizeUrl(client, params));
      const page = await browser.get(`/login/${loginId}`, { 'User-Agent': WECHAT_UA });
      expect(page.status).toBe(200);
      expect(methods(await page.text())).toEqual(expected);
    }
  });
});

describe('an essential acr (OpenID Connect Core §5.5.1.1)', () => {
  const unmet = (params: URLSearchParams) =>
    expect(Object.fromEntries(params)).toMatchObject({ error: 'unmet_authentication_requirements', state: 'state-123', iss: ISSUER });

  it('that no browser door gives (the app, the mini program by itself, an unknown value) fails at once, with nothing started', async () => {
    const client = await register(webClientMetadata);
    for (const value of [ACR.app, ACR.miniprogram, 'urn:example:unknown']) {
      const browser = new Browser();
      const back = await browser.get(authorizeUrl(client, essential(value)));
      unmet(backAt(back));
      expect(back.headers.get('Set-Cookie')).toBeNull();
    }
  });

  it('that the door used does not give: the way back is the error, no code, no session', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client, essential(ACR.website)));
    // Only the Website App's door is offered on a desktop...
    expect(methods(await (await browser.get(`/login/${loginId}`, { 'User-Agent': DESKTOP_UA })).text())).toEqual(['website-qr']);
    // ...but the mini program answered (scanned from elsewhere): the login fails.
    expect((await approve(loginId)).status).toBe(200);
    const [grants, sessions] = [await count('grants'), await count('sessions')];
    unmet(backAt(await browser.get(`/login/${loginId}/continue`)));
    expect([await count('grants'), await count('sessions'), await count("authorization_codes WHERE client_id = '" + client.client_id + "'")]).toEqual([grants, sessions, 0]);
    // The session-less browser still has none: prompt=none says so.
    expect(backAt(await browser.get(authorizeUrl(client, { prompt: 'none' }))).get('error')).toBe('login_required');
  });

  it('on a phone, where no door that gives it can be offered: the login page sends the error back', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client, essential(ACR.website)));
    unmet(backAt(await browser.get(`/login/${loginId}`, { 'User-Agent': PHONE_UA })));
  });

  it("of the Official Account: in WeChat's browser the page offers only it; elsewhere the login page sends the error back", async () => {
    const client = await register(webClientMetadata);
    const inWeChat = new Browser();
    const page = await inWeChat.get(authorizeUrl(client, essential(ACR.officialaccount)), { 'User-Agent': WECHAT_UA });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(methods(html)).toEqual(['officialaccount']);
    const loginId = /data-login-session="([^"]+)"/.exec(html)![1]!;
    const code = backAt(await throughWebDoor(inWeChat, loginId, 'officialaccount', WECHAT_UA)).get('code')!;
    expect((await idTokenOf(await redeem(client, code))).claims.acr).toBe(ACR.officialaccount);

    const desktop = new Browser();
    unmet(backAt(await desktop.get(authorizeUrl(client, essential(ACR.officialaccount)), { 'User-Agent': DESKTOP_UA })));
  });

  it('met by the door used: the code, and the acr asked for', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client, essential(ACR.website, ACR.officialaccount)));
    const code = backAt(await throughWebDoor(browser, loginId, 'website', DESKTOP_UA)).get('code')!;
    expect((await idTokenOf(await redeem(client, code))).claims.acr).toBe(ACR.website);
  });

  it("a session from another door does not answer silently: prompt=none is login_required; the session's own acr is", async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    expect((await approve(loginId)).status).toBe(200);
    backAt(await browser.get(`/login/${loginId}/continue`));
    expect(backAt(await browser.get(authorizeUrl(client, { prompt: 'none', ...essential(ACR.website) }))).get('error')).toBe('login_required');
    const same = backAt(await browser.get(authorizeUrl(client, { prompt: 'none', ...essential(ACR.miniprogramApproval) })));
    expect((await idTokenOf(await redeem(client, same.get('code')!))).claims.acr).toBe(ACR.miniprogramApproval);
  });

  it('an essential acr with no values asks only that there be one', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client, { claims: '{"id_token":{"acr":{"essential":true}}}' }));
    expect((await approve(loginId)).status).toBe(200);
    const code = backAt(await browser.get(`/login/${loginId}/continue`)).get('code')!;
    expect((await idTokenOf(await redeem(client, code))).claims.acr).toBe(ACR.miniprogramApproval);
  });
});

describe('a claims parameter that is not what §5.5 describes', () => {
  it.each([['not JSON', '{'], ['a string', '"acr"'], ['acr as a list', '{"id_token":{"acr":["x"]}}'], ['a number for essential', '{"id_token":{"acr":{"essential":1}}}']])(
    '%s: invalid_request back to the client, never a 500',
    async (_, claims) => {
      const client = await register(webClientMetadata);
      const back = backAt(await new Browser().get(authorizeUrl(client, { claims })));
      expect(back.get('error')).toBe('invalid_request');
    },
  );
});

describe('the rules as pure functions', () => {
  it('each door has its own amr, and the acr read back from it; an older login\'s ["wechat"] has none', () => {
    const doors = ['miniprogram_approval', 'app', 'miniprogram', 'officialaccount', 'website'] as const;
    for (const door of doors) expect(acrOf(amrOf(door))).toBe(`urn:wechat:acr:${door}`);
    expect(new Set(doors.map((door) => amrOf(door).join(' '))).size).toBe(doors.length);
    expect(acrOf(['wechat'])).toBeUndefined();
    expect(acrOf(['mca', 'wechat_miniprogram'])).toBeUndefined();
  });

  it('meetsAcr: no request or a voluntary one is always met; an essential one by its values, or by any acr when it has none', () => {
    expect(meetsAcr(undefined, undefined)).toBe(true);
    expect(meetsAcr({ preferred: [ACR.app] }, ACR.website)).toBe(true);
    expect(meetsAcr({ essential: [ACR.app, ACR.website] }, ACR.website)).toBe(true);
    expect(meetsAcr({ essential: [ACR.app] }, ACR.website)).toBe(false);
    expect(meetsAcr({ essential: [] }, ACR.website)).toBe(true);
    expect(meetsAcr({ essential: [] }, undefined)).toBe(false);
  });

  it('orderDoors: preferred acr first, most preferred first; the rest keep the page order', () => {
    const all = ['officialaccount', 'miniprogram_approval', 'website'] as const;
    expect(orderDoors(all)).toEqual(all);
    expect(orderDoors(all, [ACR.website])).toEqual(['website', 'officialaccount', 'miniprogram_approval']);
    expect(orderDoors(all, [ACR.website, ACR.miniprogramApproval])).toEqual(['website', 'miniprogram_approval', 'officialaccount']);
    expect(orderDoors(all, ['urn:example:other'])).toEqual(all);
  });
});
