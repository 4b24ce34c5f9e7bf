import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { authorizeUrl, Browser, browserLogin, redeem, webClientMetadata } from '../support/browser';
import { ISSUER, register, type RegisteredClient } from '../support/oidc';
import { expiredIdToken, reSignedIdToken } from '../hostile/world';

async function loggedIn(client?: RegisteredClient) {
  client ??= await register(webClientMetadata);
  const browser = new Browser();
  const result = await browserLogin(browser, client);
  const tokens = await (await redeem(client, result.get('code')!)).json<Record<string, string>>();
  return { client, browser, idToken: tokens.id_token! };
}

/** The hidden fields and target of the confirmation form on a page. */
function confirmationForm(html: string) {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const fields = new URLSearchParams([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]));
  return { action, fields };
}

const sessionCount = async () => (await env.DB.prepare('SELECT count(*) AS n FROM sessions').first<{ n: number }>())!.n;

describe('RP-initiated logout', () => {
  it('ends the session with an id_token_hint and returns to the registered URI with state', async () => {
    const { client, browser, idToken } = await loggedIn();
    const before = await sessionCount();
    const query = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: 'https://rp.example/signed-out', state: 's1' });
    const response = await browser.get(`/logout?${query}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('Location')).toBe('https://rp.example/signed-out?state=s1');
    expect(await sessionCount()).toBe(before - 1);
    expect(browser.cookie('bridge_session')).toBeUndefined();
    // Logged out: prompt=none now needs a login.
    const silent = await browser.get(authorizeUrl(client, { prompt: 'none' }));
    expect(silent.headers.get('Location')).toContain('error=login_required');
  });

  it('ends the session on a pairwise client\'s hint, which names the user by the sub that client was given', async () => {
    const client = await register({ ...webClientMetadata, subject_type: 'pairwise' });
    const { browser, idToken } = await loggedIn(client);
    const sub = JSON.parse(atob(idToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sub as string;
    // Not the user's id: no session belongs to a user of that id.
    expect(await env.DB.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ?').bind(sub).first('n')).toBe(0);
    const query = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: 'https://rp.example/signed-out' });
    const response = await browser.get(`/logout?${query}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('Location')).toBe('https://rp.example/signed-out');
  });

  it('refuses an unregistered post_logout_redirect_uri with an error page, and keeps the session', async () => {
    const { browser, idToken } = await loggedIn();
    const before = await sessionCount();
    const query = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: 'https://evil.example/' });
    const response = await browser.get(`/logout?${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('Location')).toBeNull();
    expect(await sessionCount()).toBe(before);
  });

  it('asks for confirmation without a hint, and logs out on the confirming POST', async () => {
    const { browser } = await loggedIn();
    const before = await sessionCount();
    const page = await browser.get('/logout?state=s1');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('action="/logout/confirm"');
    expect(html).toContain('name="state" value="s1"');
    expect(await sessionCount()).toBe(before);
    const confirmed = await browser.request('/logout/confirm', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://localhost:8787' },
      body: 'state=s1',
    });
    expect(confirmed.status).toBe(200);
    expect(await sessionCount()).toBe(before - 1);
  });

  it('refuses a confirmation posted from another site (CSRF), and keeps the session', async () => {
    const { browser } = await loggedIn();
    const before = await sessionCount();
    for (const headers of [{ Origin: 'https://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' }, {}] as Record<string, string>[]) {
      const forged = await browser.request('/logout/confirm', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
        body: '',
      });
      expect(forged.status).toBe(403);
      expect(forged.headers.get('Content-Type')).toMatch(/^text\/html/);
    }
    expect(await sessionCount()).toBe(before);
    expect(browser.cookie('bridge_session')).toBeDefined();
  });

  it("lets the confirmation form's redirect reach the registered URI under the page's CSP", async () => {
    const { client, browser } = await loggedIn();
    const query = new URLSearchParams({ client_id: client.client_id, post_logout_redirect_uri: 'https://rp.example/signed-out' });
    const page = await browser.get(`/logout?${query}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Security-Policy')).toContain("form-action 'self' https://rp.example;");
    const plain = await browser.get('/logout');
    expect(plain.headers.get('Content-Security-Policy')).toContain("form-action 'self';");
  });

  it('refuses an access token as id_token_hint', async () => {
    const { client, browser } = await loggedIn();
    const result = await browserLogin(new Browser(), client);
    const tokens = await (await redeem(client, result.get('code')!)).json<Record<string, string>>();
    const before = await sessionCount();
    const response = await browser.get(`/logout?id_token_hint=${tokens.access_token}`);
    expect(response.status).toBe(400);
    expect(await sessionCount()).toBe(before);
  });

  it('refuses a forged id_token_hint', async () => {
    const { browser, idToken } = await loggedIn();
    const [header, payload] = idToken.split('.');
    const response = await browser.get(`/logout?id_token_hint=${header}.${payload}.AAAA`);
    expect(response.status).toBe(400);
  });
});

describe('RP-initiated logout: a hint speaks only for its own user (RP-Initiated Logout §2, §6)', () => {
  it("asks before ending the session of another user than the hint's, and the form's own POST ends it", async () => {
    const { client, browser } = await loggedIn();
    // Someone else's ID token for the same client: anyone who ever held one could send this link.
    const stranger = await loggedIn(client);
    const before = await sessionCount();
    const query = new URLSearchParams({ id_token_hint: stranger.idToken, post_logout_redirect_uri: 'https://rp.example/signed-out', state: 's2' });
    const page = await browser.get(`/logout?${query}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('Location')).toBeNull();
    expect(await sessionCount()).toBe(before);
    expect(browser.cookie('bridge_session')).toBeDefined();

    const { action, fields } = confirmationForm(await page.text());
    expect(action).toBe('/logout/confirm');
    expect(fields.get('id_token_hint')).toBe(stranger.idToken);
    const confirmed = await browser.request(action!, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ISSUER },
      body: fields,
    });
    expect(confirmed.status).toBe(302);
    expect(confirmed.headers.get('Location')).toBe('https://rp.example/signed-out?state=s2');
    expect(await sessionCount()).toBe(before - 1);
    expect(browser.cookie('bridge_session')).toBeUndefined();
    // The stranger's own session was never touched.
    expect((await stranger.browser.get(authorizeUrl(client, { prompt: 'none' }))).headers.get('Location')).toContain('code=');
  });

  it("refuses the confirmation of another user's hint posted from another site, and keeps the session", async () => {
    const { client, browser } = await loggedIn();
    const stranger = await loggedIn(client);
    const before = await sessionCount();
    const forged = await browser.request('/logout/confirm', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://evil.example' },
      body: new URLSearchParams({ id_token_hint: stranger.idToken }),
    });
    expect(forged.status).toBe(403);
    expect(await sessionCount()).toBe(before);
  });

  it("ends the session at once with the session's own user's hint, expired too", async () => {
    const { browser, idToken } = await loggedIn();
    const before = await sessionCount();
    const response = await browser.get(`/logout?id_token_hint=${await expiredIdToken(idToken)}`);
    expect(response.status).toBe(200);
    expect(await response.text()).not.toContain('action="/logout/confirm"');
    expect(await sessionCount()).toBe(before - 1);
  });

  it('asks when the hint is for an application that is not registered, even naming the session user', async () => {
    const { browser, idToken } = await loggedIn();
    const before = await sessionCount();
    const unknownClient = await reSignedIdToken(idToken, { aud: 'no-such-client', azp: 'no-such-client' });
    const page = await browser.get(`/logout?id_token_hint=${unknownClient}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('action="/logout/confirm"');
    expect(await sessionCount()).toBe(before);
  });

  it("without a session there is nothing to end: another user's hint goes back to its client's registered URI", async () => {
    const { idToken } = await loggedIn();
    const before = await sessionCount();
    const query = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: 'https://rp.example/signed-out', state: 's3' });
    const response = await new Browser().get(`/logout?${query}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('Location')).toBe('https://rp.example/signed-out?state=s3');
    expect(await sessionCount()).toBe(before);
  });

  it("never redirects to a URI registered for another client than the hint's", async () => {
    const { client, browser, idToken } = await loggedIn();
    const other = await register({ ...webClientMetadata, post_logout_redirect_uris: ['https://other.example/bye'] });
    const before = await sessionCount();
    for (const query of <Record<string, string>[]>[
      { id_token_hint: idToken, client_id: client.client_id, post_logout_redirect_uri: 'https://other.example/bye' },
      { id_token_hint: idToken, post_logout_redirect_uri: 'https://other.example/bye' },
      { id_token_hint: idToken, client_id: other.client_id, post_logout_redirect_uri: 'https://other.example/bye' },
    ]) {
      for (const visitor of [browser, new Browser()]) {
        const response = await visitor.get(`/logout?${new URLSearchParams(query)}`);
        expect(response.status).toBe(400);
        expect(response.headers.get('Location')).toBeNull();
      }
    }
    expect(await sessionCount()).toBe(before);
  });
});
