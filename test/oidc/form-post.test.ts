/**
 * OAuth 2.0 Form Post Response Mode: a client that asks for
 * `response_mode=form_post` gets its authorization response, success or
 * error, as a page whose form posts itself to the redirect_uri, under a CSP
 * that lets the form go there and nowhere else.
 */
import { describe, expect, it } from 'vitest';
import { approve, authorizeUrl, Browser, browserLogin, deny, pkce, REDIRECT_URI, redeem, startLogin, webClientMetadata } from '../support/browser';
import { call, ISSUER, register } from '../support/oidc';

const FORM_POST = { response_mode: 'form_post' };

/** The escapes hono's html template applies, undone. */
const unescape = (text: string) =>
  text.replace(/&(quot|#39|lt|gt|amp);/g, (_, entity: string) => ({ quot: '"', '#39': "'", lt: '<', gt: '>', amp: '&' })[entity]!);

interface PostedForm {
  action: string;
  method: string;
  fields: Record<string, string>;
  /** The nonce of the CSP header, the one the page's script carries. */
  nonce: string;
  csp: string;
  page: string;
}

/** The form page as a browser would read it; fails the test unless it is one, served as a page should be. */
async function postedForm(response: Response): Promise<PostedForm> {
  expect(response.status).toBe(200);
  expect(response.headers.get('Location')).toBeNull();
  expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
  expect(response.headers.get('Cache-Control')).toContain('no-store');
  const page = await response.text();
  const csp = response.headers.get('Content-Security-Policy')!;
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
  const forms = [...page.matchAll(/<form method="([^"]+)" action="([^"]+)">/g)];
  expect(forms).toHaveLength(1);
  const fields = Object.fromEntries(
    [...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((match) => [unescape(match[1]!), unescape(match[2]!)]),
  );
  return { method: forms[0]![1]!, action: unescape(forms[0]![2]!), fields, nonce, csp, page };
}

describe('discovery (OpenID Connect Discovery 1.0 §3)', () => {
  it('lists form_post beside query as a response mode', async () => {
    const doc = await (await call('/.well-known/openid-configuration')).json<Record<string, unknown>>();
    expect(doc.response_modes_supported).toEqual(['query', 'form_post']);
  });
});

describe('response_mode=form_post (OAuth 2.0 Form Post Response Mode §2)', () => {
  it('the way back from the login page is a form that posts code, state and iss to the redirect_uri, under a CSP that allows exactly that', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const { verifier, challenge } = await pkce();
    const loginId = await startLogin(browser, authorizeUrl(client, { ...FORM_POST, code_challenge: challenge, code_challenge_method: 'S256' }));
    expect((await approve(loginId)).status).toBe(200);
    const form = await postedForm(await browser.get(`/login/${loginId}/continue`));

    expect(form.method).toBe('post');
    expect(form.action).toBe(REDIRECT_URI);
    expect(Object.keys(form.fields).sort()).toEqual(['code', 'iss', 'state']);
    expect(form.fields).toMatchObject({ state: 'state-123', iss: ISSUER });
    // The page submits itself under the response's nonce, and offers a button where scripts do not run.
    expect(form.page).toContain(`<script nonce="${form.nonce}">document.forms[0].submit()</script>`);
    expect(form.page).toMatch(/<noscript>.*<button type="submit"/);
    // CSP: the form may go to the client's origin (and this one); no other script, style or frame.
    expect(form.csp).toMatch(/form-action 'self' https:\/\/rp\.example(;|$)/);
    expect(form.csp).toContain("default-src 'none'");
    expect(form.csp).toContain("frame-ancestors 'none'");
    expect(form.csp).not.toContain('unsafe-inline');

    // The posted code is the code: it redeems, once.
    const tokens = await redeem(client, form.fields.code!, verifier);
    expect(tokens.status).toBe(200);
    // The login's cookie went with the way back: the login cannot be answered twice.
    expect((await browser.get(`/login/${loginId}/continue`)).status).toBe(404);
  });

  it('a login page answered no is posted too: access_denied with state and iss', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client, FORM_POST));
    expect((await deny(loginId)).status).toBe(200);
    const form = await postedForm(await browser.get(`/login/${loginId}/continue`));
    expect(form.action).toBe(REDIRECT_URI);
    expect(form.fields).toMatchObject({ error: 'access_denied', state: 'state-123', iss: ISSUER });
    expect(form.fields.code).toBeUndefined();
  });

  it('errors of the authorization endpoint itself are posted: prompt=none without a session, an unsupported scope', async () => {
    const client = await register(webClientMetadata);
    const none = await postedForm(await new Browser().get(authorizeUrl(client, { ...FORM_POST, prompt: 'none' })));
    expect(none.fields).toMatchObject({ error: 'login_required', state: 'state-123', iss: ISSUER });
    expect(none.action).toBe(REDIRECT_URI);
    const scope = await postedForm(await new Browser().get(authorizeUrl(client, { ...FORM_POST, scope: 'email' })));
    expect(scope.fields).toMatchObject({ error: 'invalid_scope', state: 'state-123', iss: ISSUER });
    const claims = await postedForm(await new Browser().get(authorizeUrl(client, { ...FORM_POST, claims: '{"id_token":{"acr":' })));
    expect(claims.fields).toMatchObject({ error: 'invalid_request', state: 'state-123', iss: ISSUER });
  });

  it('a session answers prompt=none with a posted code', async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    await browserLogin(browser, client);
    const silent = await postedForm(await browser.get(authorizeUrl(client, { ...FORM_POST, prompt: 'none', state: 'again' })));
    expect(silent.fields).toMatchObject({ code: expect.any(String), state: 'again', iss: ISSUER });
    expect((await redeem(client, silent.fields.code!)).status).toBe(200);
  });

  it('escapes what it echoes: a state with markup stays one field value', async () => {
    const client = await register(webClientMetadata);
    const state = `"><script>alert(1)</script>&'`;
    const form = await postedForm(await new Browser().get(authorizeUrl(client, { ...FORM_POST, prompt: 'none', state })));
    expect(form.fields.state).toBe(state);
    expect(form.page).not.toContain('<script>alert');
    expect(form.page.match(/<script/g)).toHaveLength(1);
  });

  it('the query stays the default, and query may be asked for by name', async () => {
    const client = await register(webClientMetadata);
    for (const mode of [{}, { response_mode: 'query' }] as Record<string, string>[]) {
      const back = await new Browser().get(authorizeUrl(client, { ...mode, prompt: 'none' }));
      expect(back.status).toBe(302);
      const location = new URL(back.headers.get('Location')!);
      expect(location.searchParams.get('error')).toBe('login_required');
    }
  });
});

describe('response modes refused (OAuth 2.0 Multiple Response Types §2.1, §3)', () => {
  it.each([
    ['fragment: a code never travels in the fragment', 'fragment'],
    ['an unknown mode', 'web_message'],
  ])('%s is invalid_request, in the query, with nothing started', async (_, mode) => {
    const client = await register(webClientMetadata);
    const back = await new Browser().get(authorizeUrl(client, { response_mode: mode }));
    expect(back.status).toBe(302);
    const location = new URL(back.headers.get('Location')!);
    expect(location.hash).toBe('');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ error: 'invalid_request', state: 'state-123', iss: ISSUER });
    expect(back.headers.get('Set-Cookie')).toBeNull();
  });

  it('form_post to a native app private-use scheme is refused in the query', async () => {
    const redirect = 'com.example.app:/cb';
    const client = await register({ ...webClientMetadata, application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: [redirect] });
    const { challenge } = await pkce();
    const query = new URLSearchParams({ client_id: client.client_id, redirect_uri: redirect, response_type: 'code', scope: 'openid', state: 's', code_challenge: challenge, code_challenge_method: 'S256', ...FORM_POST });
    const back = await new Browser().get(`/authorize?${query}`);
    expect(back.status).toBe(302);
    const location = new URL(back.headers.get('Location')!);
    expect(location.protocol).toBe('com.example.app:');
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });
});
