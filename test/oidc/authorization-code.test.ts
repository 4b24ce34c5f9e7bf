import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { approve, authorizeUrl, deny, Browser, browserLogin, pkce, redeem, REDIRECT_URI, startLogin, webClientMetadata } from '../support/browser';
import { sha256 } from '../../src/crypto';
import { call, claimsOf, ISSUER, postForm, register } from '../support/oidc';

/** Rows a redemption writes: its single use, its grant, its refresh token. */
const written = async () =>
  env.DB.prepare('SELECT (SELECT count(*) FROM single_uses) AS uses, (SELECT count(*) FROM grants) AS grants, (SELECT count(*) FROM refresh_tokens) AS refresh').first();

async function expectRefusal(response: Promise<Response>, description: RegExp) {
  const refused = await response;
  expect(refused.status).toBe(400);
  expect(await refused.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(description) });
}

/** Moves a code's expiry a second into the past, as if its 60 s had gone by. */
const expireCode = async (code: string) =>
  env.DB.prepare('UPDATE authorization_codes SET expires_at = ? WHERE code_hash = ?').bind(Math.floor(Date.now() / 1000) - 1, await sha256(code)).run();

const refresh = (client: Parameters<typeof redeem>[0], token: string) => postForm('/token', client, { grant_type: 'refresh_token', refresh_token: token });

const userinfoStatus = async (accessToken: string) =>
  (await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } })).status;

describe('authorization endpoint: requests it cannot redirect (docs/protocol.md §8)', () => {
  it.each([
    ['an unknown client', { client_id: 'nobody' }],
    ['no client_id', { client_id: '' }],
    ['an unregistered redirect_uri', { redirect_uri: 'https://evil.example/cb' }],
    ['no redirect_uri', { redirect_uri: '' }],
    ['a redirect_uri that only shares a prefix', { redirect_uri: `${REDIRECT_URI}/more` }],
  ])('shows an HTML error page for %s, and never redirects', async (_, override) => {
    const client = await register(webClientMetadata);
    const query = Object.fromEntries(Object.entries(override).filter(([, value]) => value !== ''));
    const params = new URLSearchParams(authorizeUrl(client, query).split('?')[1]);
    for (const [name, value] of Object.entries(override)) if (value === '') params.delete(name);
    const response = await new Browser().get(`/authorize?${params}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('Location')).toBeNull();
    expect(response.headers.get('Content-Type')).toContain('text/html');
    expect(response.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
    expect(await response.text()).toContain('<html');
  });

  it('lets a native client use any port on its loopback redirect (RFC 8252 §7.3), and only there', async () => {
    const client = await register({
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/callback', 'com.example.app:/oauth2'],
      grant_types: ['authorization_code'],
    });
    const { challenge } = await pkce();
    const common = { code_challenge: challenge, code_challenge_method: 'S256' };
    expect((await new Browser().get(authorizeUrl(client, { ...common, redirect_uri: 'http://127.0.0.1:49152/callback' }))).status).toBe(200);
    expect((await new Browser().get(authorizeUrl(client, { ...common, redirect_uri: 'http://127.0.0.1:49152/other' }))).status).toBe(400);
    expect((await new Browser().get(authorizeUrl(client, { ...common, redirect_uri: 'http://localhost:49152/callback' }))).status).toBe(400);
  });
});

describe('PKCE for native apps (RFC 8252 §8.1, RFC 9700 §2.1.1)', () => {
  it('refuses a native app registered with a secret that asks without PKCE, and lets it through with S256', async () => {
    const client = await register({ application_type: 'native', redirect_uris: ['com.example.app:/oauth2'], grant_types: ['authorization_code'] });
    expect(client.client_secret).toEqual(expect.any(String));
    const refused = await new Browser().get(authorizeUrl(client, { redirect_uri: 'com.example.app:/oauth2' }));
    expect(refused.status).toBe(302);
    const back = new URL(refused.headers.get('Location')!);
    expect(back.protocol).toBe('com.example.app:');
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/PKCE/);

    const { verifier, challenge } = await pkce();
    const result = await browserLogin(new Browser(), client, { redirect_uri: 'com.example.app:/oauth2', code_challenge: challenge, code_challenge_method: 'S256' });
    const code = result.get('code')!;
    expect((await redeem(client, code, undefined, 'com.example.app:/oauth2')).status).toBe(400);
    const again = await browserLogin(new Browser(), client, { redirect_uri: 'com.example.app:/oauth2', code_challenge: challenge, code_challenge_method: 'S256' });
    expect((await redeem(client, again.get('code')!, verifier, 'com.example.app:/oauth2')).status).toBe(200);
  });

  it('leaves the choice to a confidential web client', async () => {
    const client = await register(webClientMetadata);
    const result = await browserLogin(new Browser(), client);
    expect((await redeem(client, result.get('code')!)).status).toBe(200);
  });
});

describe('authorization endpoint: errors sent back to the client (RFC 6749 §4.1.2.1, RFC 9207)', () => {
  it.each([
    ['no response_type', { response_type: '' }, 'invalid_request'],
    ['an implicit response_type', { response_type: 'token' }, 'unsupported_response_type'],
    ['PKCE plain', { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request'],
    ['a malformed code_challenge', { code_challenge: 'short', code_challenge_method: 'S256' }, 'invalid_request'],
    ['a request object', { request: 'eyJ.e30.' }, 'request_not_supported'],
    ['prompt=none with another value', { prompt: 'none login' }, 'invalid_request'],
    ['an unknown prompt', { prompt: 'maybe' }, 'invalid_request'],
    ['a bad max_age', { max_age: '-1' }, 'invalid_request'],
    ['no supported scope', { scope: 'email' }, 'invalid_scope'],
  ])('redirects %s with error, state and iss', async (_, override, error) => {
    const client = await register(webClientMetadata);
    const params = new URLSearchParams(authorizeUrl(client, override).split('?')[1]);
    for (const [name, value] of Object.entries(override)) if (value === '') params.delete(name);
    const response = await new Browser().get(`/authorize?${params}`);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('Location')!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ error, state: 'state-123', iss: ISSUER });
  });

  it('requires PKCE from a public client', async () => {
    const client = await register({ ...webClientMetadata, token_endpoint_auth_method: 'none' });
    const response = await new Browser().get(authorizeUrl(client));
    expect(new URL(response.headers.get('Location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('accepts the request by POST too, and ignores unknown parameters', async () => {
    const client = await register(webClientMetadata);
    const body = new URLSearchParams(authorizeUrl(client, { something_new: 'x', ui_locales: 'en', login_hint: 'me' }).split('?')[1]);
    const response = await new Browser().request('/authorize', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('Location')).toMatch(/^\/login\/[A-Za-z0-9_-]{1,32}$/);
  });
});

describe('the login page (docs/protocol.md §5)', () => {
  it('carries the pending login id and is served with strict headers, to the browser that started it only', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    expect(loginId).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    const page = await browser.get(`/login/${loginId}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('Cache-Control')).toBe('no-store');
    expect(page.headers.get('X-Frame-Options')).toBe('DENY');
    expect(page.headers.get('Content-Security-Policy')).toMatch(/script-src 'nonce-[^']+'/);
    const html = await page.text();
    expect(html).toContain(`data-login-session="${loginId}"`);
    expect(html).toContain('Relying Party');

    const qr = await browser.get(`/login/${loginId}/qr`);
    expect(qr.headers.get('Content-Type')).toBe('image/png');
    expect(new Uint8Array(await qr.arrayBuffer()).slice(0, 4)).toEqual(new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
    const open = await browser.get(`/login/${loginId}/open`);
    expect(open.status).toBe(302);
    expect(open.headers.get('Location')).toMatch(/^weixin:\/\/dl\/business\/\?t=/);

    const stranger = new Browser();
    expect((await stranger.get(`/login/${loginId}`)).status).toBe(404);
    expect((await stranger.get(`/login/${loginId}/status`)).status).toBe(404);
    expect((await stranger.get(`/login/${loginId}/continue`)).status).toBe(404);
  });

  it('is the answer to a GET authorization request, which names its own URL for the address bar; a reload by that URL is the same page', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const started = await browser.get(authorizeUrl(client));
    expect(started.status).toBe(200);
    expect(started.headers.get('Cache-Control')).toBe('no-store');
    expect(started.headers.get('X-Frame-Options')).toBe('DENY');
    const nonce = /script-src 'nonce-([^']+)'/.exec(started.headers.get('Content-Security-Policy') ?? '')?.[1];
    expect(nonce).toBeTruthy();
    const first = await started.text();
    const loginId = /data-login-session="([^"]+)"/.exec(first)![1]!;
    expect(first).toContain(`data-page-url="/login/${loginId}"`);
    expect(first).toContain(`<script nonce="${nonce}">`);
    expect(first).toContain("history.replaceState(null, '', root.dataset.pageUrl)");

    const reloaded = await browser.get(`/login/${loginId}`);
    const withoutNonce = (html: string) => html.replace(/nonce="[^"]+"/g, 'nonce=""');
    expect(withoutNonce(await reloaded.text())).toBe(withoutNonce(first));
    // Another browser has not got the login's cookie: the page is not its.
    expect((await new Browser().get(`/login/${loginId}`)).status).toBe(404);
  });

  it('speaks zh-CN or English by ui_locales, then Accept-Language', async () => {
    const client = await register(webClientMetadata);
    const english = new Browser();
    const englishId = await startLogin(english, authorizeUrl(client, { ui_locales: 'en' }));
    expect(await (await english.get(`/login/${englishId}`, { 'Accept-Language': 'zh-CN' })).text()).toContain('lang="en"');
    const chinese = new Browser();
    const chineseId = await startLogin(chinese, authorizeUrl(client));
    expect(await (await chinese.get(`/login/${chineseId}`, { 'Accept-Language': 'zh-CN,zh;q=0.9' })).text()).toContain('lang="zh-CN"');
  });

  it('reports pending, then approved, and sends the browser back with code, state and iss', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    expect(await (await browser.get(`/login/${loginId}/status`)).json()).toEqual({ status: 'pending' });
    // Not approved yet: continuing goes back to the page.
    expect((await browser.get(`/login/${loginId}/continue`)).headers.get('Location')).toBe(`/login/${loginId}`);
    expect((await approve(loginId)).status).toBe(200);
    expect(await (await browser.get(`/login/${loginId}/status`)).json()).toEqual({ status: 'approved' });
    const back = await browser.get(`/login/${loginId}/continue`);
    expect(back.status).toBe(302);
    const location = new URL(back.headers.get('Location')!);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ code: expect.any(String), state: 'state-123', iss: ISSUER });
    expect(browser.cookie('bridge_session')).toBeDefined();
    // The way back works once.
    expect((await browser.get(`/login/${loginId}/continue`)).status).not.toBe(302);
  });

  it('sends access_denied back when the user declines in the mini program', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    const denied = await deny(loginId);
    expect(await denied.json()).toMatchObject({ status: 'denied' });
    const back = await browser.get(`/login/${loginId}/continue`);
    expect(Object.fromEntries(new URL(back.headers.get('Location')!).searchParams)).toMatchObject({ error: 'access_denied', state: 'state-123' });
  });
});

describe('authorization code grant (RFC 6749 §4.1.3, RFC 7636)', () => {
  it('issues tokens with the nonce for a code with the right verifier', async () => {
    const client = await register(webClientMetadata);
    const { verifier, challenge } = await pkce();
    const result = await browserLogin(new Browser(), client, { code_challenge: challenge, code_challenge_method: 'S256' });
    const response = await redeem(client, result.get('code')!, verifier);
    expect(response.status).toBe(200);
    const tokens = await response.json<Record<string, string>>();
    expect(tokens).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String), scope: 'openid profile phone offline_access' });
    expect(claimsOf(tokens.id_token!)).toMatchObject({ nonce: 'nonce-456', aud: client.client_id, acr: 'urn:wechat:acr:miniprogram_approval', amr: ['wechat_miniprogram', 'mca'] });
    expect(await userinfoStatus(tokens.access_token!)).toBe(200);
  });

  it('refuses a missing or wrong verifier, and a verifier for a code issued without a challenge', async () => {
    const client = await register(webClientMetadata);
    const { verifier, challenge } = await pkce();
    const withChallenge = (await browserLogin(new Browser(), client, { code_challenge: challenge, code_challenge_method: 'S256' })).get('code')!;
    const without = (await browserLogin(new Browser(), client)).get('code')!;
    const before = await written();
    await expectRefusal(redeem(client, withChallenge), /code_verifier is required/);
    await expectRefusal(redeem(client, withChallenge, (await pkce()).verifier), /code_verifier does not match/);
    await expectRefusal(redeem(client, without, verifier), /issued without a code_challenge/);
    // The refusals wrote nothing, and did not spend either code.
    expect(await written()).toEqual(before);
    expect((await redeem(client, withChallenge, verifier)).status).toBe(200);
    expect((await redeem(client, without)).status).toBe(200);
  });

  it('refuses a wrong redirect_uri, another client and an expired code, spending nothing', async () => {
    const client = await register(webClientMetadata);
    const other = await register(webClientMetadata);
    const code = (await browserLogin(new Browser(), client)).get('code')!;
    const before = await written();
    await expectRefusal(redeem(client, code, undefined, 'https://rp.example/other'), /redirect_uri does not match/);
    await expectRefusal(redeem(other, code), /invalid or expired/);
    expect(await written()).toEqual(before);
    expect((await redeem(client, code)).status).toBe(200);

    const late = (await browserLogin(new Browser(), client)).get('code')!;
    await env.DB.prepare('UPDATE authorization_codes SET expires_at = ? WHERE code_hash = ?').bind(Math.floor(Date.now() / 1000) - 1, await sha256(late)).run();
    const beforeLate = await written();
    await expectRefusal(redeem(client, late), /invalid or expired/);
    expect(await written()).toEqual(beforeLate);
  });

  it('refuses a replayed code and revokes the tokens of the first redemption', async () => {
    const client = await register(webClientMetadata);
    const result = await browserLogin(new Browser(), client);
    const first = await (await redeem(client, result.get('code')!)).json<Record<string, string>>();
    expect(await userinfoStatus(first.access_token!)).toBe(200);
    const replay = await redeem(client, result.get('code')!);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await userinfoStatus(first.access_token!)).toBe(401);
    const refreshed = await redeem(client, result.get('code')!);
    expect(refreshed.status).toBe(400);
  });

  it("refuses a code replayed after its expiry and revokes the first redemption's tokens, but only for the same client, redirect_uri and verifier", async () => {
    const client = await register(webClientMetadata);
    const other = await register(webClientMetadata);
    const { verifier, challenge } = await pkce();
    const code = (await browserLogin(new Browser(), client, { code_challenge: challenge, code_challenge_method: 'S256' })).get('code')!;
    const first = await (await redeem(client, code, verifier)).json<Record<string, string>>();
    expect(first.refresh_token).toEqual(expect.any(String));
    await expireCode(code);
    const before = await written();

    // Replays that fail the code's own checks are refused without touching the grant.
    await expectRefusal(redeem(other, code, verifier), /invalid or expired/);
    await expectRefusal(redeem(client, code, (await pkce()).verifier), /invalid or expired/);
    await expectRefusal(redeem(client, code, verifier, 'https://rp.example/other'), /invalid or expired/);
    expect(await userinfoStatus(first.access_token!)).toBe(200);

    await expectRefusal(redeem(client, code, verifier), /already used/);
    expect(await userinfoStatus(first.access_token!)).toBe(401);
    await expectRefusal(refresh(client, first.refresh_token!), /revoked|invalid/);
    // The replay wrote nothing of its own.
    expect(await written()).toEqual(before);
  });

  it('issues nothing for an expired code never redeemed, however often it is presented', async () => {
    const client = await register(webClientMetadata);
    const { verifier, challenge } = await pkce();
    const code = (await browserLogin(new Browser(), client, { code_challenge: challenge, code_challenge_method: 'S256' })).get('code')!;
    await expireCode(code);
    const before = await written();
    await expectRefusal(redeem(client, code, verifier), /invalid or expired/);
    // No marker was left behind for a later attempt to take for a first use.
    await expectRefusal(redeem(client, code, verifier), /invalid or expired/);
    expect(await written()).toEqual(before);
    const marker = await env.DB.prepare('SELECT count(*) AS n FROM single_uses WHERE key = ?').bind(`code:${await sha256(code)}`).first<{ n: number }>();
    expect(marker!.n).toBe(0);
  });

  it('lets exactly one of concurrent redemptions succeed, and its access token then fails', async () => {
    const client = await register(webClientMetadata);
    const result = await browserLogin(new Browser(), client);
    const responses = await Promise.all([1, 2, 3].map(() => redeem(client, result.get('code')!)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(2);
    const winner = await responses.find((response) => response.status === 200)!.json<Record<string, string>>();
    expect(await userinfoStatus(winner.access_token!)).toBe(401);
    const grants = await env.DB.prepare('SELECT count(*) AS n FROM grants WHERE client_id = ?').bind(client.client_id).first<{ n: number }>();
    expect(grants!.n).toBe(1);
  });
});

describe('login session (prompt, max_age, auth_time)', () => {
  it('answers prompt=none with login_required when not logged in', async () => {
    const client = await register(webClientMetadata);
    const response = await new Browser().get(authorizeUrl(client, { prompt: 'none' }));
    expect(Object.fromEntries(new URL(response.headers.get('Location')!).searchParams)).toMatchObject({
      error: 'login_required',
      state: 'state-123',
      iss: ISSUER,
    });
  });

  it('answers prompt=none with a code when logged in, with the original auth_time', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const first = await browserLogin(browser, client);
    const firstTokens = await (await redeem(client, first.get('code')!)).json<Record<string, string>>();
    const silent = await browser.get(authorizeUrl(client, { prompt: 'none', nonce: 'n2' }));
    expect(silent.status).toBe(302);
    const code = new URL(silent.headers.get('Location')!).searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    const tokens = await (await redeem(client, code!)).json<Record<string, string>>();
    const [before, after] = [claimsOf(firstTokens.id_token!), claimsOf(tokens.id_token!)];
    expect(after).toMatchObject({ sub: before.sub, auth_time: before.auth_time, nonce: 'n2' });
  });

  it('asks for a new login for prompt=login and for a max_age the session is older than', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    await browserLogin(browser, client);
    expect((await browser.get(authorizeUrl(client, { prompt: 'login' }))).status).toBe(200);
    await env.DB.prepare('UPDATE sessions SET auth_time = auth_time - 120').run();
    expect((await browser.get(authorizeUrl(client, { max_age: '60' }))).status).toBe(200);
    expect((await browser.get(authorizeUrl(client, { max_age: '60', prompt: 'none' }))).headers.get('Location')).toContain('error=login_required');
    expect((await browser.get(authorizeUrl(client, { max_age: '3600' }))).status).toBe(302);
  });
});
