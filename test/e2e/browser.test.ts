/**
 * A browser login as a web application sees it (docs/protocol.md §5): real
 * headless Chromium goes to the authorization endpoint with a request built by
 * openid-client 6 (PKCE S256, state, nonce), lands on the login page, the mini
 * program approves the pending login (from Node through `/wechat/handoff`, or
 * with the page's sandbox simulator), the page moves the browser on to the
 * redirect_uri, and openid-client completes the code flow: it checks `iss`
 * (RFC 9207), state, the ID token (signature, iss, aud, nonce) and PKCE.
 * Then the login session: `prompt=none` without the page, RP-initiated
 * logout, and `prompt=none` after it.
 *
 * The relying party is a tiny HTTP server on 127.0.0.1 (a web client may use a
 * loopback http redirect in development); the URL the provider sent Chromium
 * to is what openid-client reads.
 */
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { arrivalAt, launchBrowser, reportFailure, startRelyingParty, type Browser, type RelyingParty } from './support/browser.ts';
import { approveLogin, handoff, mintCode } from './support/mini-program.ts';
import { startProvider, type Provider } from './support/provider.ts';
import { registerWebClient } from './support/clients.ts';

const SCOPE = 'openid profile offline_access';
const LOGIN_PATH = /^\/login\/([A-Za-z0-9_-]{1,32})$/;
// http://localhost issuers: openid-client refuses plain http without this.

let provider: Provider;
let browser: Browser;
let rp: RelyingParty;
let config: client.Configuration;
let REDIRECT_URI: string;
let SIGNED_OUT: string;

beforeAll(async () => {
  [provider, browser, rp] = await Promise.all([startProvider(), launchBrowser({ locale: 'en-US' }), startRelyingParty()]);
  REDIRECT_URI = `${rp.origin}/callback`;
  SIGNED_OUT = `${rp.origin}/signed-out`;
  config = await registerWebClient(provider, {
    client_name: 'Browser E2E',
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: [SIGNED_OUT],
    grant_types: ['authorization_code', 'refresh_token'],
  });
});

afterAll(async () => {
  await Promise.all([browser?.close(), rp?.close(), provider?.stop()]);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => reportFailure(browser, provider.output()));
});

interface AuthRequest {
  url: URL;
  pkceCodeVerifier: string;
  expectedState: string;
  expectedNonce: string;
}

/** An authorization request as openid-client builds it: PKCE S256, state, nonce. */
async function authorizationRequest(parameters: Record<string, string> = {}): Promise<AuthRequest> {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
    ...parameters,
  });
  return { url, pkceCodeVerifier, expectedState, expectedNonce };
}

/** Opens the authorization URL in Chromium; it must show the login page. Returns the pending login's id. */
async function openLoginPage(request: AuthRequest): Promise<string> {
  const { page } = browser;
  const response = await page.goto(request.url.href);
  expect(response?.status()).toBe(200);
  const landed = new URL(page.url());
  expect(landed.origin).toBe(provider.issuer);
  expect(landed.pathname).toMatch(LOGIN_PATH);
  // Served as docs/protocol.md §5 and §8 say: no caching, no framing, a CSP.
  const headers = response!.headers();
  expect(headers['cache-control']).toContain('no-store');
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");

  const id = await page.locator('[data-login-session]').getAttribute('data-login-session');
  expect(id).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
  expect(landed.pathname).toBe(`/login/${id}`);
  return id!;
}

/** Where the provider sent Chromium back to the client, with the `iss` of RFC 9207. */
async function backAtClient(): Promise<URL> {
  const arrived = await arrivalAt(browser.page, REDIRECT_URI);
  expect(arrived.searchParams.get('iss')).toBe(provider.issuer);
  return arrived;
}

describe('a web application with openid-client, in headless Chromium', () => {
  const unionid = `browser-e2e-${randomUUID()}`;
  let sub: string;
  let authTime: number;
  let idToken: string;

  it('logs in: the login page, approval by the mini program through /wechat/handoff, then the code grant', async () => {
    const request = await authorizationRequest();
    const login = await openLoginPage(request);

    // The page as the user sees it: the mini program code (loaded under the page's CSP) and the way to WeChat.
    const { page } = browser;
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    // (A string, evaluated in the page: this file is compiled without the DOM's types.)
    await page.waitForFunction("(() => { const img = document.getElementById('qr'); return img.complete && img.naturalWidth > 0; })()");
    expect(await page.getByTestId('open-wechat').getAttribute('href')).toBe(`/login/${login}/open`);
    expect(await page.getByTestId('sandbox-approve').isVisible()).toBe(true);
    // The authorization request answered with the page, which shows its own URL: a reload keeps the same login.
    expect((await page.reload())?.status()).toBe(200);
    expect(await page.locator('[data-login-session]').getAttribute('data-login-session')).toBe(login);
    expect(new URL(page.url()).pathname).toBe(`/login/${login}`);

    // The pending login belongs to this browser (its cookie): anyone else who learns the id sees nothing.
    expect((await fetch(`${provider.issuer}/login/${login}`)).status).toBe(404);
    expect((await fetch(`${provider.issuer}/login/${login}/status`)).status).toBe(404);

    // The mini program, opened by scanning (scene = the id), approves; the waiting page notices by itself.
    await approveLogin(provider.issuer, login, { unionid });
    const callback = await backAtClient();
    expect(callback.searchParams.get('state')).toBe(request.expectedState);
    // The client's server got it: the last page it served. (Chromium then asks for /favicon.ico
    // on its own, sooner or later after the page loads; that request is not part of the flow.)
    expect(rp.visits.filter((visit) => visit !== '/favicon.ico').at(-1)).toBe(`${callback.pathname}${callback.search}`);

    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.pkceCodeVerifier,
      expectedState: request.expectedState,
      expectedNonce: request.expectedNonce,
      idTokenExpected: true,
    });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(provider.issuer);
    expect(claims.aud).toBe(config.clientMetadata().client_id);
    expect(claims.nonce).toBe(request.expectedNonce);
    expect(claims.auth_time).toEqual(expect.any(Number));
    sub = claims.sub;
    authTime = claims.auth_time!;
    idToken = tokens.id_token!;

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub);
    expect(userinfo.sub).toBe(sub);

    // The browser now has an HttpOnly login session, and the pending login's own cookie is gone.
    const cookies = await browser.context.cookies(provider.issuer);
    expect(cookies.filter((cookie) => cookie.name.startsWith('bridge_login_'))).toEqual([]);
    const session = cookies.filter((cookie) => !cookie.name.startsWith('bridge_login_'));
    expect(session).toHaveLength(1);
    expect(session[0]).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });

    // Each login is approved once (docs/protocol.md §5: 409), each code redeemed once (and a replay revokes).
    const again = await mintCode(provider.issuer, { kind: 'miniprogram', unionid });
    expect((await handoff(provider.issuer, { login, code: again.code })).status).toBe(409);
    const replay = await client
      .authorizationCodeGrant(config, callback, { pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.expectedState, expectedNonce: request.expectedNonce })
      .then(() => undefined, (error: unknown) => error);
    expect(replay).toBeInstanceOf(client.ResponseBodyError);
    expect((replay as client.ResponseBodyError).error).toBe('invalid_grant');
    await expect(client.fetchUserInfo(config, tokens.access_token, sub)).rejects.toThrow();
  });

  it('answers prompt=none in the same browser with a code at once, without the login page', async () => {
    const request = await authorizationRequest({ prompt: 'none' });
    const visited: string[] = [];
    const onRequest = (r: { url(): string; isNavigationRequest(): boolean }) => r.isNavigationRequest() && visited.push(r.url());
    browser.page.on('request', onRequest);
    try {
      await browser.page.goto(request.url.href);
      const callback = await backAtClient();
      expect(visited.filter((url) => new URL(url).pathname.startsWith('/login/'))).toEqual([]);

      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: request.pkceCodeVerifier,
        expectedState: request.expectedState,
        expectedNonce: request.expectedNonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      expect(claims.sub).toBe(sub);
      // The same login session: the time of the login the mini program approved (OIDC Core §2).
      expect(claims.auth_time).toBe(authTime);
      idToken = tokens.id_token!;
      expect((await client.fetchUserInfo(config, tokens.access_token, sub)).sub).toBe(sub);
    } finally {
      browser.page.off('request', onRequest);
    }
  });

  it('logs out through end_session_endpoint; prompt=none is then login_required', async () => {
    const state = client.randomState();
    const logout = client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: SIGNED_OUT, state });
    expect(logout.origin).toBe(provider.issuer);
    await browser.page.goto(logout.href);
    const signedOut = await arrivalAt(browser.page, SIGNED_OUT);
    expect(signedOut.searchParams.get('state')).toBe(state);

    const request = await authorizationRequest({ prompt: 'none' });
    await browser.page.goto(request.url.href);
    const callback = await backAtClient();
    expect(callback.searchParams.get('code')).toBeNull();
    const refused = await client
      .authorizationCodeGrant(config, callback, { pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.expectedState })
      .then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(client.AuthorizationResponseError);
    expect((refused as client.AuthorizationResponseError).error).toBe('login_required');
  });

  it('logs in again with the sandbox simulator on the page (zh-CN by ui_locales): the same user', async () => {
    const request = await authorizationRequest({ ui_locales: 'zh-CN' });
    await openLoginPage(request);
    const { page } = browser;
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');

    // The simulator mints a wx.login code and posts /wechat/handoff from the page, as the mini program would.
    await page.getByTestId('sandbox-unionid').fill(unionid);
    await page.getByTestId('sandbox-approve').click();
    const callback = await backAtClient();

    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.pkceCodeVerifier,
      expectedState: request.expectedState,
      expectedNonce: request.expectedNonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    // The unionid binds this mini program login to the user of the first one (docs/protocol.md §7).
    expect(claims.sub).toBe(sub);
    expect(claims.auth_time).toBeGreaterThanOrEqual(authTime);

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect((await client.fetchUserInfo(config, refreshed.access_token, sub)).sub).toBe(sub);
  });

  it('sends access_denied back to the client when the user declines in the simulator', async () => {
    // A new login, not the session: prompt=login.
    const request = await authorizationRequest({ prompt: 'login' });
    await openLoginPage(request);
    await browser.page.getByTestId('sandbox-deny').click();
    const callback = await backAtClient();
    expect(callback.searchParams.get('state')).toBe(request.expectedState);
    const refused = await client
      .authorizationCodeGrant(config, callback, { pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.expectedState })
      .then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(client.AuthorizationResponseError);
    expect((refused as client.AuthorizationResponseError).error).toBe('access_denied');
  });
});
