/**
 * examples/authjs (Auth.js, @auth/express) in headless Chromium: sign in through the
 * provider's login page approved in the mini program, the session page with the `sub` the
 * provider gave this client and the WeChat claims of the `wechat` scope, a second sign-in
 * that the provider's session answers without its login page, and sign-out through the
 * end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0), after which the provider
 * asks for a login again.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from '../e2e/support/browser.ts';
import { issuer, startExample, userByUnionid, type RunningExample } from './support/example.ts';
import { approveInMiniProgram, loginPage, newPerson } from './support/login.ts';

let app: RunningExample;
let browser: Browser;

beforeAll(async () => {
  [app, browser] = await Promise.all([startExample('authjs'), launchBrowser({ locale: 'en-US' })]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), app?.stop()]);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(async () => {
    console.error(`--- browser at ${browser.page.url()} ---\n${(await browser.page.content().catch(() => '')).slice(0, 3000)}`);
    console.error(`--- examples/authjs output ---\n${app.output().slice(-3000)}`);
  });
});

/** Signs in from the app's home page; the provider shows its login page when it has no session. */
async function clickSignIn() {
  const { page } = browser;
  await page.goto(`${app.baseUrl}/`);
  await page.locator('#sign-in').click();
  // Auth.js's own sign-in page: one button per provider.
  await page.getByRole('button', { name: /WeChat/ }).click();
}

describe('examples/authjs', () => {
  const person = newPerson('authjs');
  let sub: string;

  it('signs in through the provider and shows the sub and the WeChat claims', async () => {
    await clickSignIn();
    const minted = await approveInMiniProgram(browser.page, person);
    const { page } = browser;
    await page.waitForURL(`${app.baseUrl}/`);
    sub = (await page.locator('#sub').textContent())!;

    // The sub is the one the provider keeps for this person and this client.
    const user = await userByUnionid(person.unionid);
    const grant = user.grants.find((entry) => entry.client_id === app.env.CLIENT_ID);
    expect(grant?.sub).toBe(sub);
    expect(grant?.scope).toBe('openid profile wechat');
    // The claims of the ID token: issuer, audience, and the WeChat identity of this login.
    const claim = (name: string) => page.locator(`[data-claim="${name}"]`).textContent();
    expect(await claim('iss')).toBe(issuer);
    expect(await claim('aud')).toBe(app.env.CLIENT_ID);
    expect(await claim('wechat_openid')).toBe(person.openid);
    expect(await claim('wechat_unionid')).toBe(person.unionid);
    expect(await claim('wechat_appid')).toBe(minted.appid);
  });

  it('signs in again without the login page while the provider has a session', async () => {
    const { page, context } = browser;
    await context.clearCookies({ domain: '127.0.0.1' }); // the app forgets; the provider still knows
    await page.goto(`${app.baseUrl}/`);
    expect(await page.locator('#sub').count()).toBe(0);

    const visited: string[] = [];
    const onRequest = (request: { url(): string; isNavigationRequest(): boolean }) => request.isNavigationRequest() && visited.push(request.url());
    page.on('request', onRequest);
    try {
      await clickSignIn();
      await page.waitForURL(`${app.baseUrl}/`);
    } finally {
      page.off('request', onRequest);
    }
    expect(visited.some((url) => url.startsWith(`${issuer}/authorize`))).toBe(true);
    expect(visited.filter((url) => url.startsWith(`${issuer}/login/`))).toEqual([]);
    expect(await page.locator('#sub').textContent()).toBe(sub);
  });

  it('signs out at the provider too: the next sign-in needs the mini program again', async () => {
    const { page } = browser;
    const visited: string[] = [];
    const onRequest = (request: { url(): string; isNavigationRequest(): boolean }) => request.isNavigationRequest() && visited.push(request.url());
    page.on('request', onRequest);
    try {
      await page.locator('#sign-out').click();
      await page.waitForURL(`${app.baseUrl}/`);
    } finally {
      page.off('request', onRequest);
    }
    // Through the end_session_endpoint, with the ID token as the hint, and back to the app.
    const logout = visited.map((url) => new URL(url)).find((url) => url.origin === issuer && url.pathname === '/logout');
    expect(logout?.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(logout?.searchParams.get('post_logout_redirect_uri')).toBe(`${app.baseUrl}/`);
    expect(await page.locator('h1').textContent()).toBe('Signed out');
    expect(await page.locator('#sub').count()).toBe(0);

    // The provider's session is gone: signing in shows its login page again.
    await clickSignIn();
    await loginPage(page);
    await approveInMiniProgram(page, person);
    await page.waitForURL(`${app.baseUrl}/`);
    expect(await page.locator('#sub').textContent()).toBe(sub);
  });
});
