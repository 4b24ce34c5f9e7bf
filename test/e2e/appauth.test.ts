/**
 * A native app's login the way AppAuth does it (AppAuth-JS, `@openid/appauth`
 * 1.3.2, the JavaScript sibling of AppAuth iOS/Android): discovery, an
 * authorization request with PKCE S256 opened in a browser (real headless
 * Chromium), the redirect caught on a loopback port (RFC 8252 §7.3: registered
 * as http://127.0.0.1/callback, used with whatever port the app got), then the
 * code and refresh grants and revocation through AppAuth's token handler, as a
 * public client (token_endpoint_auth_method none).
 *
 * AppAuth-JS in Node checks nothing in the answers (no state comparison, no ID
 * token validation), so the test checks what a careful app would: state, `iss`
 * (RFC 9207), the ID token's signature against jwks_uri, iss, aud and nonce.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AuthorizationError,
  AuthorizationNotifier,
  AuthorizationRequest,
  AuthorizationRequestHandler,
  AuthorizationResponse,
  AuthorizationServiceConfiguration,
  BaseTokenRequestHandler,
  BasicQueryStringUtils,
  GRANT_TYPE_AUTHORIZATION_CODE,
  GRANT_TYPE_REFRESH_TOKEN,
  RevokeTokenRequest,
  setFlag,
  TokenRequest,
  type AuthorizationRequestResponse,
  type TokenResponse,
} from '@openid/appauth';
import { NodeCrypto, NodeRequestor } from '@openid/appauth/built/node_support/index.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchBrowser, WAIT_MS, type Browser } from './support/browser.ts';
import { approveLogin } from './support/mini-program.ts';
import { startProvider, type Provider } from './support/provider.ts';

// AppAuth logs every step to the console; a failing test says enough.
setFlag('IS_LOG', false);

const REGISTERED_REDIRECT = 'http://127.0.0.1/callback';
const WECHAT_USER_AGENT =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN';
const SCOPE = 'openid profile offline_access';

/**
 * The app's side of the redirect: a loopback HTTP server, as AppAuth's own
 * NodeBasedHandler starts, that turns the next /callback into an
 * AppAuth response or error. Port 0: the system picks a free one.
 */
class LoopbackRedirect {
  private readonly server: Server;
  private waiting: ((query: URLSearchParams) => void) | undefined;
  /** Every query string the browser brought here. */
  readonly received: URLSearchParams[] = [];

  private constructor(server: Server) {
    this.server = server;
    server.on('request', (request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><title>App</title><p>Return to the app.</p>');
      if (url.pathname !== '/callback') return;
      this.received.push(url.searchParams);
      this.waiting?.(url.searchParams);
      this.waiting = undefined;
    });
  }

  static async start(): Promise<LoopbackRedirect> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new LoopbackRedirect(server);
  }

  get redirectUri(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/callback`;
  }

  /**
   * The next redirect to /callback; fails rather than hangs if the browser never comes back.
   * The deadline covers the whole authorization (opening the page, the user's part, the
   * page's next status poll), so it is the browser's generous one.
   */
  next(timeoutMs = WAIT_MS * 2): Promise<URLSearchParams> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no redirect to ${this.redirectUri} within ${timeoutMs / 1000} s`)), timeoutMs);
      this.waiting = (query) => {
        clearTimeout(timer);
        resolve(query);
      };
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * AppAuth's extension point for "open the browser": like NodeBasedHandler, but
 * the browser is the test's Chromium instead of `opener`, so the test can play
 * the user's part on the login page.
 */
class ChromiumAuthorizationHandler extends AuthorizationRequestHandler {
  private result: Promise<AuthorizationRequestResponse> | undefined;
  /** Resolves once Chromium has loaded whatever the authorization endpoint led to. */
  opened: Promise<void> = Promise.resolve();

  constructor(
    private readonly page: Page,
    private readonly loopback: LoopbackRedirect,
  ) {
    super(new BasicQueryStringUtils(), new NodeCrypto());
  }

  performAuthorizationRequest(configuration: AuthorizationServiceConfiguration, request: AuthorizationRequest): void {
    const arrival = this.loopback.next();
    const ready = request.setupCodeVerifier().then(() => this.buildRequestUrl(configuration, request));
    this.opened = ready.then(async (url) => {
      await this.page.goto(url);
    });
    this.result = arrival.then((query) => {
      const state = query.get('state') ?? undefined;
      const error = query.get('error');
      return error
        ? {
            request,
            response: null,
            error: new AuthorizationError({ error, error_description: query.get('error_description') ?? undefined, state }),
          }
        : { request, response: new AuthorizationResponse({ code: query.get('code') ?? '', state: state ?? '' }), error: null };
    });
    // If the test fails before it asks for the result, that failure is the one to report.
    this.result.catch(() => undefined);
  }

  protected completeAuthorizationRequest(): Promise<AuthorizationRequestResponse | null> {
    return this.result ?? Promise.reject(new Error('no pending authorization request'));
  }
}

let provider: Provider;
let browser: Browser;
let loopback: LoopbackRedirect;
let configuration: AuthorizationServiceConfiguration;
let clientId: string;
let issuerMetadata: { issuer: string; jwks_uri: string; registration_endpoint: string };
const requestor = new NodeRequestor();
const tokenHandler = new BaseTokenRequestHandler(requestor);

beforeAll(async () => {
  [provider, browser, loopback] = await Promise.all([startProvider(), launchBrowser({ locale: 'zh-CN' }), LoopbackRedirect.start()]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), loopback?.close(), provider?.stop()]);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`--- provider output (tail) ---\n${provider.output().slice(-4000)}`));
});

/** One authorization through AppAuth: returns the request (with its PKCE verifier) and what came back. */
async function authorize(extras: Record<string, string>, userPart: (page: Page) => Promise<void>, page = browser.page) {
  const request = new AuthorizationRequest(
    { response_type: AuthorizationRequest.RESPONSE_TYPE_CODE, client_id: clientId, redirect_uri: loopback.redirectUri, scope: SCOPE, extras },
    new NodeCrypto(),
    true,
  );
  const handler = new ChromiumAuthorizationHandler(page, loopback);
  const notifier = new AuthorizationNotifier();
  const completed = new Promise<AuthorizationRequestResponse>((resolve) =>
    notifier.setAuthorizationListener((req, response, error) => resolve({ request: req, response, error })),
  );
  handler.setAuthorizationNotifier(notifier);
  const before = loopback.received.length;
  handler.performAuthorizationRequest(configuration, request);
  await handler.opened;
  await userPart(page);
  await handler.completeAuthorizationRequestIfPossible();
  const { response, error } = await completed;
  // The loopback hears the redirect before Chromium has loaded it: let it land, or the next test's navigation races this one.
  await page.waitForURL((url) => url.href.startsWith(loopback.redirectUri), { waitUntil: 'load' });
  // What AppAuth drops but an app should check: state, and the issuer (RFC 9207).
  const query = loopback.received[before]!;
  expect(query.get('iss')).toBe(provider.issuer);
  expect(query.get('state')).toBe(request.state);
  expect(response?.state ?? error?.state).toBe(request.state);
  return { request, response, error };
}

/** The code grant through AppAuth, which sends the PKCE verifier only when the app puts it into the extras. */
function redeemCode(code: string, codeVerifier: string): Promise<TokenResponse> {
  return tokenHandler.performTokenRequest(
    configuration,
    new TokenRequest({
      grant_type: GRANT_TYPE_AUTHORIZATION_CODE,
      code,
      redirect_uri: loopback.redirectUri,
      client_id: clientId,
      extras: { code_verifier: codeVerifier },
    }),
  );
}

async function verifyIdToken(idToken: string | undefined, nonce: string) {
  expect(idToken).toEqual(expect.any(String));
  const { payload } = await jwtVerify(idToken!, createRemoteJWKSet(new URL(issuerMetadata.jwks_uri)), {
    issuer: provider.issuer,
    audience: clientId,
  });
  expect(payload.nonce).toBe(nonce);
  return payload;
}

async function userinfo(accessToken: string): Promise<Response> {
  return fetch(configuration.userInfoEndpoint!, { headers: { authorization: `Bearer ${accessToken}` } });
}

describe('a native app with AppAuth-JS 1.3.2, in headless Chromium', () => {
  let sub: string;
  let tokens: TokenResponse;

  it('discovers the provider and registers a native public client', async () => {
    configuration = await AuthorizationServiceConfiguration.fetchFromIssuer(provider.issuer, requestor);
    expect(configuration.authorizationEndpoint).toBe(`${provider.issuer}/authorize`);
    expect(configuration.tokenEndpoint).toMatch(new RegExp(`^${provider.issuer}/`));
    expect(configuration.userInfoEndpoint).toEqual(expect.any(String));
    expect(configuration.revocationEndpoint).toEqual(expect.any(String));
    issuerMetadata = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as typeof issuerMetadata;

    // AppAuth has no dynamic registration; the app's developer registers it once (RFC 7591, RFC 8252).
    const response = await fetch(issuerMetadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${provider.registrationToken}` },
      body: JSON.stringify({
        client_name: 'AppAuth E2E',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: [REGISTERED_REDIRECT],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      }),
    });
    expect(response.status).toBe(201);
    const registered = (await response.json()) as Record<string, unknown>;
    expect(registered.client_secret).toBeUndefined();
    clientId = registered.client_id as string;
    expect(loopback.redirectUri).not.toBe(REGISTERED_REDIRECT); // a port the registration never saw
  });

  it('logs in with PKCE: the login page in Chromium, the mini program approves, AppAuth redeems the code', async () => {
    const nonce = 'appauth-nonce-1';
    const { request, response, error } = await authorize({ nonce }, async (page) => {
      expect(new URL(page.url()).pathname).toMatch(/^\/login\/[A-Za-z0-9_-]{1,32}$/);
      const id = await page.locator('[data-login-session]').getAttribute('data-login-session');
      expect(new URL(page.url()).pathname).toBe(`/login/${id}`);
      expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN'); // Accept-Language of the browser
      await approveLogin(provider.issuer, id!);
    });
    expect(error).toBeNull();
    expect(request.extras?.code_challenge_method).toBe('S256');
    const codeVerifier = request.internal?.code_verifier;
    expect(codeVerifier).toEqual(expect.any(String));

    tokens = await redeemCode(response!.code, codeVerifier!);
    expect(tokens.tokenType.toLowerCase()).toBe('bearer');
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(tokens.isValid()).toBe(true);
    const claims = await verifyIdToken(tokens.idToken, nonce);
    sub = claims.sub!;

    const info = await userinfo(tokens.accessToken);
    expect(info.status).toBe(200);
    expect(((await info.json()) as { sub: string }).sub).toBe(sub);
  });

  it('refreshes with AppAuth: a new refresh token, the same user', async () => {
    const refreshed = await tokenHandler.performTokenRequest(
      configuration,
      new TokenRequest({
        grant_type: GRANT_TYPE_REFRESH_TOKEN,
        refresh_token: tokens.refreshToken,
        redirect_uri: loopback.redirectUri,
        client_id: clientId,
      }),
    );
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.refreshToken).toEqual(expect.any(String));
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    const info = await userinfo(refreshed.accessToken);
    expect(((await info.json()) as { sub: string }).sub).toBe(sub);
    tokens = refreshed;
  });

  it('signs in again without the page (the browser session); the code needs its own verifier and works once', async () => {
    const nonce = 'appauth-nonce-2';
    const { request, response, error } = await authorize({ nonce }, async (page) => {
      // No login page this time: the provider sent the browser straight back to the app.
      expect(page.url()).toMatch(new RegExp(`^${loopback.redirectUri}\\?`));
    });
    expect(error).toBeNull();
    const redeem = (codeVerifier: string) => redeemCode(response!.code, codeVerifier);
    // NodeRequestor turns any non-200 into a generic error.
    await expect(redeem(new NodeCrypto().generateRandom(128))).rejects.toThrow();
    const again = await redeem(request.internal!.code_verifier!);
    expect((await verifyIdToken(again.idToken, nonce)).sub).toBe(sub);
    await expect(redeem(request.internal!.code_verifier!)).rejects.toThrow();
  });

  describe("through WeChat's own web doors (the same person, one sub)", () => {
    const unionid = `appauth-web-${Date.now()}`;
    const subs: string[] = [];
    it.each([
      ["the Official Account, with WeChat's User-Agent", 'officialaccount'],
      ["the Website App's QR page, on a desktop", 'website'],
    ])('logs in through %s', async (_, door) => {
      const nonce = `appauth-${door}`;
      // WeChat's browser is another browser: its own User-Agent, its own cookies.
      const wechat = door === 'officialaccount' ? await launchBrowser({ locale: 'zh-CN', userAgent: WECHAT_USER_AGENT }) : undefined;
      try {
        const { request, response, error } = await authorize(
          { nonce, prompt: 'login' },
          async (page) => {
            // The login page names the app first; the person chooses the door.
            await page.getByTestId(door === 'website' ? 'website-qr' : 'officialaccount').click();
            await page.waitForURL((url) => url.pathname.startsWith('/sandbox/wechat/connect/'));
            await page.locator('input[name="unionid"]').fill(unionid);
            await page.locator('[data-sandbox-approve]').click();
          },
          wechat?.page,
        );
        expect(error).toBeNull();
        const grant = await redeemCode(response!.code, request.internal!.code_verifier!);
        subs.push((await verifyIdToken(grant.idToken, nonce)).sub!);
      } finally {
        await wechat?.close();
      }
      expect(new Set(subs).size).toBe(1);
    });
  });

  it('revokes the refresh token with AppAuth; it then no longer refreshes', async () => {
    expect(await tokenHandler.performRevokeTokenRequest(configuration, new RevokeTokenRequest({ token: tokens.refreshToken!, token_type_hint: 'refresh_token', client_id: clientId }))).toBe(true);
    await expect(
      tokenHandler.performTokenRequest(
        configuration,
        new TokenRequest({ grant_type: GRANT_TYPE_REFRESH_TOKEN, refresh_token: tokens.refreshToken, redirect_uri: loopback.redirectUri, client_id: clientId }),
      ),
    ).rejects.toThrow();
  });
});
