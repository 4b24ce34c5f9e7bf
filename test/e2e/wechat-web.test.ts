/**
 * WeChat's own web logins in real Chromium (docs/protocol.md §5a), through the
 * sandbox's stand-ins for WeChat's pages, completed by openid-client: inside
 * WeChat's browser (an iPhone's and an Android's User-Agent) the login page
 * offers the Official Account's authorization, on a desktop the Website App's
 * QR login. The same unionid is the same `sub` as a mini program's token
 * exchange.
 */
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrivalAt, launchBrowser, startRelyingParty, type Browser, type RelyingParty } from './support/browser.ts';
import { mintCode } from './support/mini-program.ts';
import { startProvider, type Provider } from './support/provider.ts';
import { registerWebClient } from './support/clients.ts';

const WECHAT_USER_AGENTS = {
  iPhone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN',
  Android: 'Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0 Mobile Safari/537.36 XWEB/1220099 MMWEBSDK/20240301 MMWEBID/1234 MicroMessenger/8.0.48.2580(0x28003036) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64',
};
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

let provider: Provider;
let rp: RelyingParty;
let config: client.Configuration;
let REDIRECT_URI: string;

beforeAll(async () => {
  [provider, rp] = await Promise.all([startProvider(), startRelyingParty()]);
  REDIRECT_URI = `${rp.origin}/callback`;
  config = await registerWebClient(provider, { client_name: 'WeChat web E2E', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', TOKEN_EXCHANGE] });
});

afterAll(async () => {
  await Promise.all([rp?.close(), provider?.stop()]);
});

async function authorizationRequest(scope = 'openid profile') {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url, verifier, state, nonce };
}

/** The `sub` a mini program's token exchange gets for this unionid. */
async function miniProgramSub(unionid: string): Promise<string> {
  const minted = await mintCode(provider.issuer, { kind: 'miniprogram', unionid });
  const tokens = await client.genericGrantRequest(
    config,
    TOKEN_EXCHANGE,
    { subject_token: minted.code, subject_token_type: 'urn:wechat:token-type:miniprogram_code', scope: 'openid', wechat_appid: minted.appid },
  );
  return tokens.claims()!.sub;
}

/** A phone's screen for WeChat's browser: the login page's small-screen layout. */
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

async function withBrowser<T>(userAgent: string | undefined, run: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await launchBrowser({ locale: 'zh-CN', ...(userAgent && { userAgent, ...PHONE }) });
  try {
    return await run(browser);
  } finally {
    await browser.close();
  }
}

/** The ways in the login page offers, in the order the person sees them (the CSS `order` counts). */
const waysOn = (page: Page) =>
  page.locator('[data-login-method]').evaluateAll((nodes) =>
    nodes
      .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
      .map((node) => node.getAttribute('data-login-method')),
  );

/** From the login page in WeChat's browser, through the Official Account's way in, to WeChat's (here the sandbox's) authorization. */
async function throughOfficialAccount(page: Page, url: URL) {
  await page.goto(url.href);
  // The login page first, naming the application: nothing leaves for WeChat until the person chooses to.
  await page.locator('[data-login-session]').waitFor();
  expect(new URL(page.url()).pathname).toMatch(/^\/login\//);
  expect(await page.locator('h1').textContent()).toContain('WeChat web E2E');
  expect(await waysOn(page)).toEqual(['officialaccount', 'open-wechat']);
  expect(await page.locator('img#qr').count()).toBe(0);
  await page.locator('[data-login-method="officialaccount"]').getByTestId('officialaccount').click();
  await page.waitForURL((target) => target.pathname === '/sandbox/wechat/connect/oauth2/authorize');
}

describe("the Official Account inside WeChat's browser", () => {
  it.each(Object.entries(WECHAT_USER_AGENTS))('%s: the login page offers it first, no code to scan; through it, the same sub as the mini program', async (_, userAgent) => {
    const unionid = `oa-e2e-${randomUUID()}`;
    await withBrowser(userAgent, async ({ page }) => {
      const request = await authorizationRequest();
      await throughOfficialAccount(page, request.url);
      expect(new URL(page.url()).searchParams.get('scope')).toBe('snsapi_userinfo');
      await page.locator('input[name="unionid"]').fill(unionid);
      await page.locator('[data-sandbox-approve]').click();
      const back = await arrivalAt(page, REDIRECT_URI);
      const tokens = await client.authorizationCodeGrant(config, back, {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      });
      expect(tokens.claims()!.sub).toBe(await miniProgramSub(unionid));
    });
  });

  it('a person who refuses comes back to the client with access_denied', async () => {
    await withBrowser(WECHAT_USER_AGENTS.iPhone, async ({ page }) => {
      const request = await authorizationRequest();
      await throughOfficialAccount(page, request.url);
      await page.locator('[data-sandbox-cancel]').click();
      const back = await arrivalAt(page, REDIRECT_URI);
      expect(back.searchParams.get('error')).toBe('access_denied');
      expect(back.searchParams.get('state')).toBe(request.state);
    });
  });
});

describe("WeChat's browser without an Official Account for the client", () => {
  it('shows the mini program way, no Official Account', async () => {
    const miniProgram = provider.wechatApps.find((app) => app.kind === 'miniprogram')!;
    const limited = await registerWebClient(provider, { client_name: 'Mini program only', redirect_uris: [REDIRECT_URI], wechat_appids: [miniProgram.appid] });
    await withBrowser(WECHAT_USER_AGENTS.Android, async ({ page }) => {
      const url = client.buildAuthorizationUrl(limited, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      await page.goto(url.href);
      await page.locator('[data-login-session]').waitFor();
      expect(await page.locator('[data-login-method="officialaccount"]').count()).toBe(0);
      expect(await waysOn(page)).toEqual(['open-wechat', 'miniprogram-code']);
    });
  });
});

describe("a callback that is not this browser's, or not new", () => {
  it('a swapped state logs no one in, and a replayed one fails', async () => {
    const victim = await launchBrowser({ locale: 'zh-CN', userAgent: WECHAT_USER_AGENTS.iPhone });
    const attacker = await launchBrowser({ locale: 'zh-CN', userAgent: WECHAT_USER_AGENTS.Android });
    try {
      // The victim leaves for WeChat; the URL WeChat would send them back to carries their state.
      const request = await authorizationRequest();
      await throughOfficialAccount(victim.page, request.url);
      const state = new URL(victim.page.url()).searchParams.get('state')!;
      const minted = await mintCode(provider.issuer, { kind: 'officialaccount', scope: 'snsapi_userinfo' });
      const callback = `${provider.issuer}/wechat/callback?code=${minted.code}&state=${state}`;

      // Opened in another browser (sent to someone, or a state swapped in), it is an error page and goes nowhere.
      const visits = rp.visits.length;
      const stranger = await attacker.page.goto(callback);
      expect(stranger?.status()).toBe(400);
      expect(new URL(attacker.page.url()).pathname).toBe('/wechat/callback');
      expect(rp.visits.length).toBe(visits);

      // The browser that left with it still gets in, once; the same callback again fails.
      await victim.page.goto(callback);
      const back = await arrivalAt(victim.page, REDIRECT_URI);
      const tokens = await client.authorizationCodeGrant(config, back, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
      expect(tokens.claims()!.sub).toEqual(expect.any(String));
      const replay = await victim.page.goto(callback);
      expect(replay?.status()).toBe(400);
    } finally {
      await Promise.all([victim.close(), attacker.close()]);
    }
  });
});

describe('the Website App on a desktop', () => {
  it('offers the QR login beside the mini program code; through it, the same sub as the mini program', async () => {
    const unionid = `web-e2e-${randomUUID()}`;
    await withBrowser(undefined, async ({ page }) => {
      const request = await authorizationRequest();
      await page.goto(request.url.href);
      expect(await page.locator('[data-login-method="officialaccount"]').count()).toBe(0);
      expect(await page.locator('[data-login-method]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-login-method')))).toEqual([
        'miniprogram-code',
        'website-qr',
        'open-wechat',
      ]);
      await page.getByTestId('website-qr').click();
      await page.waitForURL((url) => url.pathname === '/sandbox/wechat/connect/qrconnect');
      await page.locator('input[name="unionid"]').fill(unionid);
      await page.locator('[data-sandbox-approve]').click();
      const back = await arrivalAt(page, REDIRECT_URI);
      const tokens = await client.authorizationCodeGrant(config, back, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
      expect(tokens.claims()!.sub).toBe(await miniProgramSub(unionid));
    });
  });
});
