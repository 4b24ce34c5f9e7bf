/**
 * OAuth 2.0 Form Post Response Mode with a real client and a real browser:
 * openid-client 6 builds the authorization request with
 * `response_mode=form_post`, headless Chromium goes through the login page,
 * the mini program approves it (from Node through `/wechat/handoff`), the
 * page's form posts itself to the relying party's server, and openid-client's
 * `authorizationCodeGrant` takes that POST as it arrived (a `Request`) and
 * checks `iss` (RFC 9207), state, PKCE and the ID token. Chromium enforces
 * the page's CSP, whose form-action must allow the client's origin for the
 * POST to leave at all.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchBrowser, reportFailure, WAIT_MS, type Browser } from './support/browser.ts';
import { approveLogin } from './support/mini-program.ts';
import { startProvider, type Provider } from './support/provider.ts';
import { registerWebClient } from './support/clients.ts';


/** A relying party that keeps every form POST its redirect_uri receives, as a `Request` openid-client can read. */
interface FormPostReceiver {
  origin: string;
  /** Resolves with the next POST to arrive (or the one that already did and was not taken yet). */
  nextPost(): Promise<{ request: Request; contentType: string }>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<FormPostReceiver> {
  const arrived: { request: Request; contentType: string }[] = [];
  const waiting: ((post: { request: Request; contentType: string }) => void)[] = [];
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      if (incoming.method === 'POST') {
        const contentType = incoming.headers['content-type'] ?? '';
        const request = new Request(`${origin}${incoming.url}`, { method: 'POST', headers: { 'content-type': contentType }, body: Buffer.concat(chunks) });
        const post = { request, contentType };
        const waiter = waiting.shift();
        if (waiter) waiter(post);
        else arrived.push(post);
      }
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end('<!doctype html><title>Relying party</title><p>Back at the client.</p>');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    nextPost: () => {
      const ready = arrived.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no form POST reached the relying party')), WAIT_MS);
        waiting.push((post) => {
          clearTimeout(timer);
          resolve(post);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let provider: Provider;
let browser: Browser;
let rp: FormPostReceiver;
let config: client.Configuration;
let REDIRECT_URI: string;

beforeAll(async () => {
  [provider, browser, rp] = await Promise.all([startProvider(), launchBrowser({ locale: 'en-US' }), startReceiver()]);
  REDIRECT_URI = `${rp.origin}/callback`;
  config = await registerWebClient(provider, { client_name: 'Form Post E2E', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'] });
});

afterAll(async () => {
  await Promise.all([browser?.close(), rp?.close(), provider?.stop()]);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => reportFailure(browser, provider.output()));
});

/** The browser's own navigation ends at the client (the POST's page), before the next test navigates. */
const atClient = () => browser.page.waitForURL((url) => url.href === REDIRECT_URI, { waitUntil: 'load' });

async function formPostRequest(parameters: Record<string, string> = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile',
    response_mode: 'form_post',
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
    ...parameters,
  });
  return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
}

describe('response_mode=form_post with openid-client, in headless Chromium', () => {
  let sub: string;

  it('discovery advertises form_post, as openid-client reads it', () => {
    expect(config.serverMetadata().response_modes_supported).toEqual(['query', 'form_post']);
  });

  it('logs in: the login page, approval in the mini program, the form posted to the client, the code grant from that POST', async () => {
    const request = await formPostRequest();
    const { page } = browser;
    expect((await page.goto(request.url.href))?.status()).toBe(200);
    const login = await page.locator('[data-login-session]').getAttribute('data-login-session');
    expect(login).toMatch(/^[A-Za-z0-9_-]{1,32}$/);

    await approveLogin(provider.issuer, login!, { unionid: `form-post-e2e-${randomUUID()}` });
    const posted = await rp.nextPost();
    expect(posted.contentType).toBe('application/x-www-form-urlencoded');
    expect(new URL(posted.request.url).search).toBe('');
    const fields = new URLSearchParams(await posted.request.clone().text());
    expect([...fields.keys()].sort()).toEqual(['code', 'iss', 'state']);
    expect(fields.get('iss')).toBe(provider.issuer);
    // The browser followed its own form: it is at the client now, by POST.
    await atClient();

    const tokens = await client.authorizationCodeGrant(config, posted.request, request.checks);
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(provider.issuer);
    expect(claims.nonce).toBe(request.checks.expectedNonce);
    expect(claims.acr).toBe('urn:wechat:acr:miniprogram_approval');
    expect(claims.amr).toEqual(['wechat_miniprogram', 'mca']);
    sub = claims.sub;
    expect((await client.fetchUserInfo(config, tokens.access_token, sub)).sub).toBe(sub);
  });

  it('answers prompt=none from the session with a posted code, without the login page', async () => {
    const request = await formPostRequest({ prompt: 'none' });
    await browser.page.goto(request.url.href, { waitUntil: 'commit' });
    const posted = await rp.nextPost();
    await atClient();
    const tokens = await client.authorizationCodeGrant(config, posted.request, request.checks);
    expect(tokens.claims()!.sub).toBe(sub);
  });

  it('posts errors too: an essential acr the session cannot give, with prompt=none, is login_required to openid-client', async () => {
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:wechat:acr:website'] } } });
    const request = await formPostRequest({ prompt: 'none', claims });
    await browser.page.goto(request.url.href, { waitUntil: 'commit' });
    const posted = await rp.nextPost();
    await atClient();
    const refused = await client.authorizationCodeGrant(config, posted.request, request.checks).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(client.AuthorizationResponseError);
    expect((refused as client.AuthorizationResponseError).error).toBe('login_required');
  });
});
