/**
 * The sandbox's stand-ins for WeChat's web authorization pages (an Official
 * Account's connect/oauth2/authorize, a Website App's connect/qrconnect), and
 * the fake's exchange of their codes (docs/protocol.md §6).
 */
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { type Env } from '../../src/config';
import { sandboxPages } from '../../src/sandbox';
import { sandboxApi } from '../../src/sandbox/wechat-api';
import { APP, mint, mintRequest, testApp } from '../wechat/helpers';

const OA = testApp('wx00000000000oa001');
const WEB = testApp('wx0000000000web001');
const ISSUER = 'http://localhost:8787';
const CALLBACK = `${ISSUER}/wechat/callback`;
const NONCE = 'sandbox-test-nonce';

// The development entry mounts the pages under the pages' headers, which set the CSP nonce first.
const pages = new Hono<{ Bindings: Env }>();
pages.use('*', async (c, next) => {
  c.set('secureHeadersNonce', NONCE);
  await next();
});
pages.route('/', sandboxPages);

type Page = 'connect/oauth2/authorize' | 'connect/qrconnect';

interface Query {
  appid?: string;
  redirect_uri?: string;
  response_type?: string;
  scope?: string;
  state?: string;
}

const oaQuery = (overrides: Query = {}): Query => ({
  appid: OA.appid,
  redirect_uri: CALLBACK,
  response_type: 'code',
  scope: 'snsapi_userinfo',
  state: 'st4te',
  ...overrides,
});
const webQuery = (overrides: Query = {}): Query => oaQuery({ appid: WEB.appid, scope: 'snsapi_login', ...overrides });

async function open(page: Page, query: Query, headers: Record<string, string> = {}): Promise<Response> {
  const search = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return pages.request(`http://localhost:8787/${page}?${search}`, { headers }, env);
}

/** The form as the page submits it: its hidden fields, the person, and the button pressed. */
async function answer(fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return pages.request(
    'http://localhost:8787/connect/answer',
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ISSUER, ...headers },
      body: new URLSearchParams(fields).toString(),
    },
    env,
  );
}

/** The hidden fields of a page's form. */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields[name!] = value!.replaceAll('&amp;', '&');
  return fields;
}

/** Opens the page, then presses a button with the given person. */
async function submit(page: Page, query: Query, button: 'approve' | 'cancel', person: Record<string, string> = {}) {
  const shown = await open(page, query);
  expect(shown.status).toBe(200);
  return answer({ ...hiddenFields(await shown.text()), ...person, answer: button });
}

/**
 * Where the browser goes next: a silent pass redirects (302); after the page's form, a
 * page that moves on by itself (200, `Refresh: 0; url=…`), so that the way to the client
 * is not a redirect of the form's submission.
 */
function redirected(response: Response): URL {
  if (response.status === 302) return new URL(response.headers.get('location')!);
  expect(response.status).toBe(200);
  const refresh = /^0; url=(.+)$/.exec(response.headers.get('refresh') ?? '');
  expect(refresh, 'a Refresh header').not.toBeNull();
  return new URL(refresh![1]!);
}

const api = (path: string) => sandboxApi.request(`https://api.weixin.qq.com${path}`, {}, env);

async function exchange(app: { appid: string; secret: string }, code: string): Promise<Record<string, unknown>> {
  const response = await api(`/sns/oauth2/access_token?appid=${app.appid}&secret=${app.secret}&code=${code}&grant_type=authorization_code`);
  return response.json();
}

async function userinfo(grant: Record<string, unknown>): Promise<Record<string, unknown>> {
  return (await api(`/sns/userinfo?access_token=${String(grant.access_token)}&openid=${String(grant.openid)}&lang=zh_CN`)).json();
}

describe('the sandbox WeChat pages: checking the query as WeChat does', () => {
  it.each<[string, Page, Query]>([
    ['no appid', 'connect/oauth2/authorize', oaQuery({ appid: undefined })],
    ['an unknown appid', 'connect/oauth2/authorize', oaQuery({ appid: 'wx00000000unknown' })],
    ['a Website App appid on the Official Account page', 'connect/oauth2/authorize', oaQuery({ appid: WEB.appid })],
    ['an Official Account appid on the QR page', 'connect/qrconnect', webQuery({ appid: OA.appid })],
    ['a mobile app appid', 'connect/oauth2/authorize', oaQuery({ appid: APP.appid })],
    ['no redirect_uri', 'connect/oauth2/authorize', oaQuery({ redirect_uri: undefined })],
    ['a redirect_uri that is not a URL', 'connect/oauth2/authorize', oaQuery({ redirect_uri: 'wechat/callback' })],
    ['a redirect_uri on another origin', 'connect/oauth2/authorize', oaQuery({ redirect_uri: 'https://evil.example/wechat/callback' })],
    ['a redirect_uri on another port', 'connect/qrconnect', webQuery({ redirect_uri: 'http://localhost:9999/wechat/callback' })],
    ['a response_type other than code', 'connect/oauth2/authorize', oaQuery({ response_type: 'token' })],
    ['no scope', 'connect/oauth2/authorize', oaQuery({ scope: undefined })],
    ['snsapi_login on the Official Account page', 'connect/oauth2/authorize', oaQuery({ scope: 'snsapi_login' })],
    ['snsapi_userinfo on the QR page', 'connect/qrconnect', webQuery({ scope: 'snsapi_userinfo' })],
    ['a state with other characters', 'connect/oauth2/authorize', oaQuery({ state: 'a-b' })],
    ['a state over 128 characters', 'connect/qrconnect', webQuery({ state: 'a'.repeat(129) })],
  ])('shows an error page for %s, 400, never a redirect', async (_, page, query) => {
    const response = await open(page, query);
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('data-status="error"');
    expect(html).not.toContain('data-sandbox-approve');
  });

  it('re-checks the form on its answer', async () => {
    const shown = hiddenFields(await (await open('connect/oauth2/authorize', oaQuery())).text());
    const tamperings: Record<string, string>[] = [
      { redirect_uri: 'https://evil.example/cb' },
      { appid: APP.appid },
      { scope: 'snsapi_login' },
      { state: 'x'.repeat(129) },
      { answer: 'maybe' },
    ];
    for (const tampered of tamperings) {
      const response = await answer({ ...shown, answer: 'approve', ...tampered });
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    }
  });

  it('refuses an answer posted from another site', async () => {
    const shown = hiddenFields(await (await open('connect/oauth2/authorize', oaQuery())).text());
    const response = await answer({ ...shown, answer: 'approve' }, { origin: 'https://evil.example' });
    expect(response.status).toBe(403);
  });

  it('is not found through another host', async () => {
    const response = await pages.request(`https://id.example.com/connect/qrconnect?${new URLSearchParams(webQuery() as Record<string, string>)}`, {}, env);
    expect(response.status).toBe(404);
  });
});

describe('the sandbox WeChat pages: the person answers', () => {
  it('shows the appid, the scope, the person inputs and both buttons under the nonce', async () => {
    for (const [page, query] of [
      ['connect/oauth2/authorize', oaQuery({ scope: 'snsapi_base' })],
      ['connect/qrconnect', webQuery()],
    ] as const) {
      const response = await open(page, query, { 'accept-language': 'en' });
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain('data-testid="sandbox-wechat-page"');
      expect(html).toContain(query.appid);
      expect(html).toContain(`>${query.scope}<`);
      for (const name of ['openid', 'unionid', 'nickname']) expect(html).toContain(`name="${name}"`);
      expect(html).toContain('data-sandbox-approve');
      expect(html).toContain('data-sandbox-cancel');
      expect(html).toContain(`<style nonce="${NONCE}">`);
      expect(html).toContain('action="/sandbox/wechat/connect/answer"');
      expect(hiddenFields(html)).toEqual({ appid: query.appid, redirect_uri: CALLBACK, scope: query.scope, state: 'st4te' });
    }
  });

  it('approves on the Official Account page: code and state appended to redirect_uri, the code exchanged as given', async () => {
    const query = oaQuery({ redirect_uri: `${CALLBACK}?flow=oa` });
    const back = redirected(await submit('connect/oauth2/authorize', query, 'approve', { openid: 'oOfficial1', unionid: 'uPerson1', nickname: 'Alice' }));
    expect(back.origin + back.pathname).toBe(CALLBACK);
    expect([...back.searchParams.keys()]).toEqual(['flow', 'code', 'state']);
    expect(back.searchParams.get('state')).toBe('st4te');

    const grant = await exchange(OA, back.searchParams.get('code')!);
    expect(grant).toMatchObject({ openid: 'oOfficial1', unionid: 'uPerson1', scope: 'snsapi_userinfo', expires_in: 7200 });
    expect(await userinfo(grant)).toMatchObject({ openid: 'oOfficial1', nickname: 'Alice', unionid: 'uPerson1' });
    expect(await exchange(OA, back.searchParams.get('code')!)).toMatchObject({ errcode: 40163 });
  });

  it('approves on the QR page with a new person when no openid is given', async () => {
    const back = redirected(await submit('connect/qrconnect', webQuery(), 'approve'));
    const grant = await exchange(WEB, back.searchParams.get('code')!);
    expect(grant.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect(grant.scope).toBe('snsapi_login');
    expect(grant).not.toHaveProperty('unionid');
    expect(await userinfo(grant)).toMatchObject({ openid: grant.openid, nickname: '微信用户' });
  });

  it('cancels with the state alone', async () => {
    for (const [page, query] of [
      ['connect/oauth2/authorize', oaQuery()],
      ['connect/qrconnect', webQuery()],
    ] as const) {
      const back = redirected(await submit(page, query, 'cancel', { openid: 'oIgnored' }));
      expect(back.origin + back.pathname).toBe(CALLBACK);
      expect(Object.fromEntries(back.searchParams)).toEqual({ state: 'st4te' });
    }
  });

  it('passes a returning person silently on snsapi_base, and shows the page to a new one', async () => {
    const base = oaQuery({ scope: 'snsapi_base', state: 'silent1' });
    expect((await open('connect/oauth2/authorize', base)).status).toBe(200);

    const approved = await submit('connect/oauth2/authorize', oaQuery(), 'approve', { openid: 'oReturning1', unionid: 'uReturning1' });
    redirected(approved);
    const cookie = approved.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^sandbox_wechat_person_${OA.appid}=`));
    expect(cookie).toMatch(/Path=\/sandbox\/wechat/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);

    const silent = await open('connect/oauth2/authorize', base, { cookie: cookie.split(';')[0]! });
    const back = redirected(silent);
    expect(back.searchParams.get('state')).toBe('silent1');
    const grant = await exchange(OA, back.searchParams.get('code')!);
    expect(grant).toMatchObject({ openid: 'oReturning1', unionid: 'uReturning1', scope: 'snsapi_base' });

    // snsapi_userinfo still asks, the known person filled in.
    const asked = await open('connect/oauth2/authorize', oaQuery(), { cookie: cookie.split(';')[0]! });
    expect(asked.status).toBe(200);
    expect(await asked.text()).toContain('value="oReturning1"');
  });

  it('keeps no person for a Website App: the QR page always asks', async () => {
    const approved = await submit('connect/qrconnect', webQuery(), 'approve', { openid: 'oWebsite1' });
    redirected(approved);
    expect(approved.headers.get('set-cookie')).toBeNull();
  });
});

describe('the fake sns/oauth2/access_token and sns/userinfo for web codes', () => {
  it('mints Official Account and Website App codes with their default scope and first app', async () => {
    const oa = await mint({ kind: 'officialaccount', openid: 'oMinted1' });
    expect(oa.appid).toBe(OA.appid);
    expect(await exchange(OA, oa.code)).toMatchObject({ openid: 'oMinted1', scope: 'snsapi_userinfo' });
    const web = await mint({ kind: 'website' });
    expect(web.appid).toBe(WEB.appid);
    expect(await exchange(WEB, web.code)).toMatchObject({ scope: 'snsapi_login' });
    expect(await exchange(APP, (await mint({ kind: 'app' })).code)).toMatchObject({ scope: 'snsapi_userinfo' });
  });

  it.each([
    ['snsapi_base on a website code', { kind: 'website', scope: 'snsapi_base' }],
    ['snsapi_login on an Official Account code', { kind: 'officialaccount', scope: 'snsapi_login' }],
    ['snsapi_base on an app code', { kind: 'app', scope: 'snsapi_base' }],
    ['a scope on a mini program code', { kind: 'miniprogram', scope: 'snsapi_userinfo' }],
    ['a scope that is not a string', { kind: 'officialaccount', scope: ['snsapi_base'] }],
    ['a website appid for an Official Account code', { kind: 'officialaccount', appid: WEB.appid }],
  ])('refuses to mint %s', async (_, body) => {
    expect((await mintRequest(body)).status).toBe(400);
  });

  it('answers 48001 to sns/userinfo with a snsapi_base token', async () => {
    const { code } = await mint({ kind: 'officialaccount', scope: 'snsapi_base', openid: 'oBase1' });
    const grant = await exchange(OA, code);
    expect(grant).toMatchObject({ openid: 'oBase1', scope: 'snsapi_base' });
    expect(await userinfo(grant)).toMatchObject({ errcode: 48001, errmsg: expect.stringMatching(/^api unauthorized/) });
  });

  it('exchanges a code only with the credentials of an app of its own kind', async () => {
    const pairs = [
      ['officialaccount', WEB],
      ['website', OA],
      ['officialaccount', APP],
      ['app', OA],
    ] as const;
    for (const [kind, app] of pairs) {
      const { code } = await mint({ kind });
      expect(await exchange(app, code)).toMatchObject({ errcode: 40029 });
    }
    const mini = testApp('wx0000000000mini01');
    expect(await exchange(mini, (await mint({ kind: 'miniprogram' })).code)).toMatchObject({ errcode: 40029 });
  });

  it('gives a web code its own fault, and is_snapshotuser, as for app codes', async () => {
    const faulty = await mint({ kind: 'website', error: 40226 });
    expect(await exchange(WEB, faulty.code)).toMatchObject({ errcode: 40226 });
    expect(await exchange(WEB, faulty.code)).toMatchObject({ errcode: 40163 });
    const snapshot = await mint({ kind: 'officialaccount', scope: 'snsapi_base', snapshot: true });
    expect(await exchange(OA, snapshot.code)).toMatchObject({ is_snapshotuser: 1, scope: 'snsapi_base' });
  });
});
