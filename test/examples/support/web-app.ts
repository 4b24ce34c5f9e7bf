/**
 * What every web-app example must do with the bridge as its OpenID Connect provider, in
 * headless Chromium: sign in through the provider's login page approved in the mini
 * program; a page with the `sub` the provider gave this client and the claims of
 * `openid profile wechat`; a second sign-in answered by the provider's session without its
 * login page; and sign-out through the end_session_endpoint (OpenID Connect RP-Initiated
 * Logout 1.0) that ends the provider's session too, so the next sign-in needs the mini
 * program again.
 *
 * The examples' pages share their hooks: `#sign-in`, `#sub`, `[data-claim=<name>]`, `#sign-out`,
 * and `#user-id` where the app keeps users of its own.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from '../../e2e/support/browser.ts';
import { issuer, startExample, userByUnionid, type RunningExample } from './example.ts';
import { approveInMiniProgram, loginPage, newPerson } from './login.ts';
import type { Example } from './paths.ts';

/** The navigations the page makes while `action` runs. */
async function navigations(page: Page, action: () => Promise<void>): Promise<URL[]> {
  const visited: URL[] = [];
  const onRequest = (request: { url(): string; isNavigationRequest(): boolean }) => {
    if (request.isNavigationRequest()) visited.push(new URL(request.url()));
  };
  page.on('request', onRequest);
  try {
    await action();
  } finally {
    page.off('request', onRequest);
  }
  return visited;
}

export interface WebApp {
  /** Starts a sign-in from the app's home page, up to where the app sends the browser to the provider. */
  signIn(page: Page): Promise<void>;
  /** The scope the app asks for. */
  scope: string;
  /** Whether the page shows the ID token's claims (`[data-claim]`), the WeChat ones among them. */
  claims: boolean;
  /** Whether the app keeps users of its own (`#user-id`), linked to the provider's sub. */
  localUsers: boolean;
}

export function describeWebApp(example: Example, { signIn, scope, claims, localUsers }: WebApp) {
  let app: RunningExample;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startExample(example), launchBrowser({ locale: 'en-US' })]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), app?.stop()]);
  });

  beforeEach(({ onTestFailed }) => {
    onTestFailed(async () => {
      console.error(`--- browser at ${browser.page.url()} ---\n${(await browser.page.content().catch(() => '')).slice(0, 3000)}`);
      console.error(`--- examples/${example} output ---\n${app.output().slice(-3000)}`);
    });
  });

  async function startSignIn() {
    await browser.page.goto(`${app.baseUrl}/`);
    await signIn(browser.page);
  }

  describe(`examples/${example}`, () => {
    const person = newPerson(example);
    let sub: string;
    let userId: string | null = null;
    /** The local user shown now is the one of the first sign-in: the account stays linked to the sub. */
    const sameLocalUser = async () => {
      if (localUsers) expect(await browser.page.locator('#user-id').textContent()).toBe(userId);
    };

    const shows = claims ? 'the sub and the WeChat claims' : 'a local user linked to the sub';
    it(`signs in through the provider and shows ${shows}`, async () => {
      const { page } = browser;
      await startSignIn();
      const minted = await approveInMiniProgram(page, person);
      await page.waitForURL(`${app.baseUrl}/`);
      sub = (await page.locator('#sub').textContent())!;

      // The sub is the one the provider keeps for this person and this client.
      const user = await userByUnionid(person.unionid);
      const grant = user.grants.find((entry) => entry.client_id === app.env.CLIENT_ID);
      expect(grant?.sub).toBe(sub);
      expect(grant?.scope).toBe(scope);
      if (claims) {
        // The ID token's claims: issuer, audience, and the WeChat identity of this login.
        const claim = (name: string) => page.locator(`[data-claim="${name}"]`).textContent();
        expect(await claim('iss')).toBe(issuer);
        expect(await claim('aud')).toBe(app.env.CLIENT_ID);
        expect(await claim('wechat_openid')).toBe(person.openid);
        expect(await claim('wechat_unionid')).toBe(person.unionid);
        expect(await claim('wechat_appid')).toBe(minted.appid);
      }
      if (localUsers) {
        userId = await page.locator('#user-id').textContent();
        expect(userId).toMatch(/\S/);
        expect(userId).not.toBe(sub);
      }
    });

    it('signs in again without the login page while the provider has a session', async () => {
      const { page, context } = browser;
      await context.clearCookies({ domain: '127.0.0.1' }); // the app forgets; the provider still knows
      await page.goto(`${app.baseUrl}/`);
      expect(await page.locator('#sub').count()).toBe(0);

      const visited = await navigations(page, async () => {
        await startSignIn();
        await page.waitForURL(`${app.baseUrl}/`);
      });
      expect(visited.some((url) => url.origin === issuer && url.pathname === '/authorize')).toBe(true);
      expect(visited.filter((url) => url.origin === issuer && url.pathname.startsWith('/login/'))).toEqual([]);
      expect(await page.locator('#sub').textContent()).toBe(sub);
      await sameLocalUser();
    });

    it('signs out at the provider too: the next sign-in needs the mini program again', async () => {
      const { page } = browser;
      const visited = await navigations(page, async () => {
        await page.locator('#sign-out').click();
        await page.waitForURL(`${app.baseUrl}/`);
      });
      // Through the end_session_endpoint, with the ID token as the hint, and back to the app.
      const logout = visited.find((url) => url.origin === issuer && url.pathname === '/logout');
      expect(logout?.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
      expect(logout?.searchParams.get('post_logout_redirect_uri')).toBe(`${app.baseUrl}/`);
      expect(await page.locator('#sub').count()).toBe(0);
      expect(await page.locator('#sign-in').count()).toBe(1);

      // The provider's session is gone: signing in shows its login page again.
      await startSignIn();
      await loginPage(page);
      await approveInMiniProgram(page, person);
      await page.waitForURL(`${app.baseUrl}/`);
      expect(await page.locator('#sub').textContent()).toBe(sub);
      await sameLocalUser();
    });
  });
}
