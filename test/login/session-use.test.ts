import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sessionAnswer, withConsent } from '../../src/login/session-use';
import type { Session } from '../../src/store/sessions';
import { approve, authorizeUrl, Browser, browserLogin, loginIdOf, pkce, redeem, webClientMetadata } from '../support/browser';
import { claimsOf, register } from '../support/oidc';

/** What an authorization request answers: a code at the client, an error there, or the bridge's login page. */
async function outcome(browser: Browser, url: string) {
  const response = await browser.get(url);
  const location = response.headers.get('Location') ?? '';
  if (response.status === 200 && (await response.text()).includes('data-login-session=')) return 'asks in WeChat';
  const params = new URL(location).searchParams;
  return params.get('code') ? 'silent code' : params.get('error');
}

describe('what a browser session answers without a new approval (OpenID Connect Core §3.1.2.3)', () => {
  it('only the client, and the scopes, the person approved in it; prompt=none says which is missing', async () => {
    const [a, b] = await Promise.all([register(webClientMetadata), register(webClientMetadata)]);
    const browser = new Browser();
    await browserLogin(browser, a, { scope: 'openid profile' });

    expect(await outcome(browser, authorizeUrl(a, { scope: 'openid profile' }))).toBe('silent code');
    expect(await outcome(browser, authorizeUrl(a, { scope: 'openid' }))).toBe('silent code');
    // Another application, or more than was approved, is the person's to approve, in WeChat.
    expect(await outcome(browser, authorizeUrl(b, { scope: 'openid' }))).toBe('asks in WeChat');
    expect(await outcome(browser, authorizeUrl(a, { scope: 'openid profile phone' }))).toBe('asks in WeChat');
    expect(await outcome(browser, authorizeUrl(b, { scope: 'openid', prompt: 'none' }))).toBe('consent_required');
    expect(await outcome(browser, authorizeUrl(a, { scope: 'openid phone', prompt: 'none' }))).toBe('consent_required');
    expect(await outcome(new Browser(), authorizeUrl(a, { scope: 'openid', prompt: 'none' }))).toBe('login_required');
  });

  it('prompt=consent, login or select_account make a new approval even for what was approved', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    await browserLogin(browser, client);
    for (const prompt of ['consent', 'login', 'select_account', 'login consent']) {
      expect(await outcome(browser, authorizeUrl(client, { prompt })), prompt).toBe('asks in WeChat');
    }
    expect(await outcome(browser, authorizeUrl(client))).toBe('silent code');
  });

  it('a later approval by the same person adds to the session; by someone else, replaces it', async () => {
    const [a, b, c] = await Promise.all([register(webClientMetadata), register(webClientMetadata), register(webClientMetadata)]);
    const browser = new Browser();
    const alice = { openid: `alice-${crypto.randomUUID()}` };
    await browserLogin(browser, a, {}, alice);
    await browserLogin(browser, b, {}, alice);
    expect(await outcome(browser, authorizeUrl(a))).toBe('silent code');
    expect(await outcome(browser, authorizeUrl(b))).toBe('silent code');
    // One session row per browser: the one it replaced is gone.
    const rows = async (openid: string) =>
      (await env.DB.prepare('SELECT count(*) AS n FROM sessions WHERE wechat_openid = ?').bind(openid).first<{ n: number }>())!.n;
    expect(await rows(alice.openid)).toBe(1);

    const bob = { openid: `bob-${crypto.randomUUID()}` };
    await browserLogin(browser, c, {}, bob);
    expect(await outcome(browser, authorizeUrl(c))).toBe('silent code');
    expect(await outcome(browser, authorizeUrl(a))).toBe('asks in WeChat');
    expect(await rows(alice.openid)).toBe(0);
  });

  it('a silent code speaks for the session: the same sub and the auth_time of the approval', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const { verifier, challenge } = await pkce();
    const first = await browserLogin(browser, client, { code_challenge: challenge, code_challenge_method: 'S256' });
    const firstTokens = await (await redeem(client, first.get('code')!, verifier)).json<{ id_token: string }>();
    const again = new URL((await browser.get(authorizeUrl(client, { code_challenge: challenge, code_challenge_method: 'S256' }))).headers.get('Location')!);
    const againTokens = await (await redeem(client, again.searchParams.get('code')!, verifier)).json<{ id_token: string }>();
    const [before, after] = [claimsOf(firstTokens.id_token), claimsOf(againTokens.id_token)];
    expect(after.sub).toBe(before.sub);
    expect(after.auth_time).toBe(before.auth_time);
  });

  it('lasts one day from the approval', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const openid = `day-${crypto.randomUUID()}`;
    const loginId = await loginIdOf(await browser.get(authorizeUrl(client)));
    await approve(loginId, { openid });
    const back = await browser.get(`/login/${loginId}/continue`);
    const row = await env.DB.prepare('SELECT auth_time, expires_at FROM sessions WHERE wechat_openid = ?').bind(openid).first<{ auth_time: number; expires_at: number }>();
    expect(row!.expires_at - row!.auth_time).toBe(86_400);
    // The cookie lives as long as the row: what is left of the day since the approval, a second or two taken.
    const maxAge = Number(/Max-Age=(\d+)/.exec(back.headers.getAll('Set-Cookie').find((line) => line.startsWith('bridge_session=')) ?? '')?.[1]);
    expect(maxAge).toBeLessThanOrEqual(86_400);
    expect(maxAge).toBeGreaterThan(86_400 - 10);
  });
});

describe('sessionAnswer: the rule, as a table', () => {
  const session = (consents: Record<string, string>, authTime = 1000, amr = 'wechat_miniprogram mca'): Session => ({
    idHash: 'h', userId: 'u', wechatAppid: 'wx', wechatOpenid: 'o', authTime, amr, consents, expiresAt: 999_999,
  });
  const request = (over: Partial<Parameters<typeof sessionAnswer>[1]> = {}) => ({ clientId: 'a', scopes: ['openid'] as const, prompt: new Set<string>(), ...over });

  it.each([
    ['no session', undefined, request(), { silent: false, error: 'login_required' }],
    ['approved client and scope', session({ a: 'openid profile' }), request(), { silent: true }],
    ['another client', session({ b: 'openid' }), request(), { silent: false, error: 'consent_required' }],
    ['a scope beyond the approval', session({ a: 'openid' }), request({ scopes: ['openid', 'phone'] }), { silent: false, error: 'consent_required' }],
    ['prompt=consent', session({ a: 'openid' }), request({ prompt: new Set(['consent']) }), { silent: false, error: 'consent_required' }],
    ['prompt=login', session({ a: 'openid' }), request({ prompt: new Set(['login']) }), { silent: false, error: 'login_required' }],
    ['max_age passed', session({ a: 'openid' }, 1000), request({ maxAge: 59 }), { silent: false, error: 'login_required' }],
    ['max_age not yet passed', session({ a: 'openid' }, 1000), request({ maxAge: 60 }), { silent: true }],
    ["an essential acr the session's door gave", session({ a: 'openid' }), request({ acr: { essential: ['urn:wechat:acr:miniprogram_approval'] } }), { silent: true }],
    ["an essential acr another door gives", session({ a: 'openid' }), request({ acr: { essential: ['urn:wechat:acr:website'] } }), { silent: false, error: 'login_required' }],
    ['an essential acr of any value, from a session of the Website App', session({ a: 'openid' }, 1000, 'wechat_website mca'), request({ acr: { essential: [] } }), { silent: true }],
    ['an essential acr, and a session recorded before doors had one', session({ a: 'openid' }, 1000, 'wechat'), request({ acr: { essential: [] } }), { silent: false, error: 'login_required' }],
    ['a preferred acr only: the session answers', session({ a: 'openid' }), request({ acr: { preferred: ['urn:wechat:acr:website'] } }), { silent: true }],
  ] as const)('%s', (_, given, asked, expected) => {
    expect(sessionAnswer(given, asked, 1060)).toEqual(expected);
  });

  it('withConsent adds to the same person\'s approvals and drops another\'s', () => {
    const previous = session({ a: 'openid', b: 'openid profile' });
    expect(withConsent(previous, 'u', 'b', ['openid', 'phone'])).toEqual({ a: 'openid', b: 'openid profile phone' });
    expect(withConsent(previous, 'someone-else', 'c', ['openid'])).toEqual({ c: 'openid' });
    expect(withConsent(undefined, 'u', 'c', ['openid'])).toEqual({ c: 'openid' });
  });
});
