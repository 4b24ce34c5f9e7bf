/**
 * An https issuer (a deployment): cookie names carry the prefixes of RFC
 * 6265bis §4.1.3 (`__Host-` for the session, `__Secure-` for the cookies
 * scoped to a path), and every answer, page or JSON, carries HSTS (RFC 6797).
 * The loopback http issuer of the rest of the suite has neither. The https
 * app is the development app (the sandbox as WeChat) under another ISSUER.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import type { Env } from '../../src/config';
import { SANDBOX_PATH, sandboxTransport } from '../../src/sandbox';
import { authorizeUrl, Browser, browserLogin, loginIdOf, webClientMetadata } from '../support/browser';
import { call, mint, REGISTRATION_TOKEN, register, type RegisteredClient } from '../support/oidc';

const HTTPS_ISSUER = 'https://id.example.com';
const HSTS = 'max-age=63072000; includeSubDomains';
const httpsEnv: Env = { ...env, ISSUER: HTTPS_ISSUER };
const app = createApp({ wechatTransport: sandboxTransport, wechatWebOrigin: (issuer) => `${issuer}${SANDBOX_PATH}` });
// Each request with an ExecutionContext, as the runtime gives one: work deferred past the response (a login's audit entry, a logout's back-channel notices) needs it.
const send = (path: string, init: RequestInit = {}) => Promise.resolve(app.request(`${HTTPS_ISSUER}${path}`, init, httpsEnv, createExecutionContext()));

/** The Set-Cookie lines of a response, by cookie name. */
function setCookies(response: Response): Map<string, string> {
  return new Map(response.headers.getAll('Set-Cookie').map((line) => [line.split('=')[0]!, line]));
}

async function registerHttps(): Promise<RegisteredClient> {
  const response = await send('/register', {
    method: 'POST',
    headers: { Authorization: `Bearer ${REGISTRATION_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...webClientMetadata, token_endpoint_auth_method: 'client_secret_basic' }),
  });
  expect(response.status).toBe(201);
  expect(response.headers.get('Strict-Transport-Security')).toBe(HSTS);
  return response.json();
}

async function approve(loginId: string) {
  const minted = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini01' });
  const response = await send('/wechat/handoff', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: loginId, code: minted.code, appid: minted.appid }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('Strict-Transport-Security')).toBe(HSTS);
}

/** The target and hidden fields of the logout confirmation form. */
function confirmation(html: string) {
  const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!;
  const fields = new URLSearchParams([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]));
  return { action, fields };
}

describe('an https issuer: prefixed cookies (RFC 6265bis §4.1.3) and HSTS (RFC 6797)', () => {
  it('names the login cookie __Secure- and the session cookie __Host-, reads them back, and clears the session on logout', async () => {
    const client = await registerHttps();
    const browser = new Browser(send);
    const started = await browser.get(authorizeUrl(client));
    expect(started.status).toBe(200);
    expect(started.headers.get('Strict-Transport-Security')).toBe(HSTS);
    const loginId = await loginIdOf(started);
    expect(setCookies(started).get(`__Secure-bridge_login_${loginId}`)).toMatch(new RegExp(`Path=/login/${loginId}; HttpOnly; Secure; SameSite=Lax`));
    expect(setCookies(started).has(`bridge_login_${loginId}`)).toBe(false);

    const page = await browser.get(`/login/${loginId}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('Strict-Transport-Security')).toBe(HSTS);
    await approve(loginId);
    const back = await browser.get(`/login/${loginId}/continue`);
    expect(back.status).toBe(302);
    expect(new URL(back.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
    const session = setCookies(back).get('__Host-bridge_session');
    expect(session).toMatch(/Path=\/; HttpOnly; Secure; SameSite=Lax/);
    expect(session).not.toMatch(/Domain=/i);
    expect(browser.cookie('__Host-bridge_session')).toBeDefined();

    // The session is read under its prefixed name: prompt=none needs no login.
    const silent = await browser.get(authorizeUrl(client, { prompt: 'none' }));
    expect(new URL(silent.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
    // The unprefixed name means nothing here.
    const unprefixed = await send(authorizeUrl(client, { prompt: 'none' }), { headers: { Cookie: `bridge_session=${browser.cookie('__Host-bridge_session')}` } });
    expect(new URL(unprefixed.headers.get('Location')!).searchParams.get('error')).toBe('login_required');

    const out = await browser.get('/logout');
    const { action, fields } = confirmation(await out.text());
    const confirmed = await browser.request(action, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: HTTPS_ISSUER }, body: fields });
    expect(confirmed.status).toBe(200);
    expect(setCookies(confirmed).get('__Host-bridge_session')).toMatch(/Max-Age=0/);
    expect(browser.cookie('__Host-bridge_session')).toBeUndefined();
  });

  it("names the web doors' state cookie __Secure-, scoped to the callback, and reads it back there", async () => {
    const client = await registerHttps();
    const browser = new Browser(send);
    const loginId = await loginIdOf(await browser.get(authorizeUrl(client)));
    const door = await browser.get(`/login/${loginId}/wechat/website`);
    expect(door.status).toBe(302);
    const state = new URL(door.headers.get('Location')!).searchParams.get('state')!;
    expect(setCookies(door).get(`__Secure-bridge_wechat_${state}`)).toMatch(/Path=\/wechat\/callback; HttpOnly; Secure; SameSite=Lax/);
    const { code } = await mint({ kind: 'website', appid: 'wx0000000000web001' });
    const callback = await browser.get(`/wechat/callback?${new URLSearchParams({ state, code })}`);
    expect(callback.status).toBe(303);
    expect(callback.headers.get('Strict-Transport-Security')).toBe(HSTS);
    expect(setCookies(callback).get(`__Secure-bridge_wechat_${state}`)).toMatch(/Max-Age=0/);
  });

  it('sends HSTS on JSON, errors and unknown paths too', async () => {
    for (const [path, init] of [
      ['/.well-known/openid-configuration', {}],
      ['/token', { method: 'POST' }],
      ['/token', { method: 'PUT' }],
      ['/no-such-path', {}],
      ['/authorize', {}],
    ] as [string, RequestInit][]) {
      const response = await send(path, init);
      expect(response.headers.get('Strict-Transport-Security'), `${init.method ?? 'GET'} ${path}`).toBe(HSTS);
    }
  });
});

describe('the loopback http issuer: plain cookie names, no HSTS', () => {
  it('sends no HSTS on pages or JSON, and names its cookies without a prefix', async () => {
    const client = await register(webClientMetadata);
    for (const path of ['/.well-known/openid-configuration', '/no-such-path', '/authorize']) {
      expect((await call(path)).headers.get('Strict-Transport-Security'), path).toBeNull();
    }
    const browser = new Browser();
    const started = await browser.get(authorizeUrl(client));
    expect(started.headers.get('Strict-Transport-Security')).toBeNull();
    for (const line of started.headers.getAll('Set-Cookie')) expect(line).toMatch(/^bridge_login_[^;]+;.*Path=\/login\//);
    const result = await browserLogin(browser, client);
    expect(result.get('code')).toBeTruthy();
    expect(browser.cookie('bridge_session')).toBeDefined();
  });
});
