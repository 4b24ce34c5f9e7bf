/**
 * Error answers never repeat a parameter name or value the client sent:
 * an error page or a client's log would show an attacker's words as ours
 * (text injection). Each request carries a marker in the name or value at
 * fault; neither the JSON nor the page may contain it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { authorizeUrl, Browser, REDIRECT_URI, webClientMetadata } from '../support/browser';
import { call, postForm, REGISTRATION_TOKEN, register, TOKEN_EXCHANGE, type RegisteredClient } from '../support/oidc';

const MARK = 'Injected7Words';

let client: RegisteredClient;

beforeAll(async () => {
  client = await register({ ...webClientMetadata, grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE] });
});

async function expectNoEcho(response: Response, status: number, description?: string) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(text).not.toContain(MARK);
  if (description) expect(text).toContain(description);
  // A redirected error carries its description in the Location.
  expect(decodeURIComponent(response.headers.get('Location') ?? '')).not.toContain(MARK);
}

describe('error descriptions name our parameter, never the client’s words', () => {
  it('the authorization endpoint: a repeated parameter, a long one, an unknown prompt', async () => {
    const base = authorizeUrl(client);
    await expectNoEcho(await call(`${base}&${MARK}=1&${MARK}=2`, { redirect: 'manual' }), 400, 'a parameter is repeated');
    const long = await new Browser().get(`${base}&${MARK}=${'x'.repeat(3000)}`);
    expect(long.status).toBe(302);
    expect(new URL(long.headers.get('Location')!).searchParams.get('error_description')).toBe('a parameter is too long');
    await expectNoEcho(long, 302);
    const prompt = await new Browser().get(authorizeUrl(client, { prompt: MARK }));
    expect(new URL(prompt.headers.get('Location')!).searchParams.get('error_description')).toBe('prompt has an unsupported value');
    await expectNoEcho(prompt, 302);
  });

  it('the token endpoint: grant_type, subject_token_type, a repeated parameter', async () => {
    await expectNoEcho(await postForm('/token', client, { grant_type: MARK }), 400, 'grant_type is not supported');
    await expectNoEcho(
      await postForm('/token', client, { grant_type: TOKEN_EXCHANGE, subject_token: 'abc', subject_token_type: `urn:${MARK}` }),
      400,
      'subject_token_type is not supported',
    );
    await expectNoEcho(
      await postForm('/token', client, { grant_type: TOKEN_EXCHANGE, subject_token: 'abc', subject_token_type: 'urn:wechat:token-type:app_code', wechat_appid: MARK }),
      400,
      'wechat_appid is not a WeChat app this client may use',
    );
    const repeated = await call('/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `${MARK}=1&${MARK}=2` });
    await expectNoEcho(repeated, 400, 'a parameter is repeated');
  });

  it('registration: a bad redirect URI or an unsupported value is named by its place', async () => {
    const registerWith = (metadata: Record<string, unknown>) =>
      call('/register', {
        method: 'POST',
        headers: { Authorization: `Bearer ${REGISTRATION_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [REDIRECT_URI], ...metadata }),
      });
    await expectNoEcho(await registerWith({ redirect_uris: [REDIRECT_URI, `http://${MARK}.example/cb`] }), 400, 'redirect_uris[1]: http is only allowed');
    await expectNoEcho(await registerWith({ post_logout_redirect_uris: [`https://rp.example/#${MARK}`] }), 400, 'post_logout_redirect_uris[0]');
    await expectNoEcho(await registerWith({ grant_types: ['authorization_code', MARK] }), 400, 'grant_types has an unsupported value');
  });

  it('logout: a repeated parameter', async () => {
    await expectNoEcho(await call(`/logout?${MARK}=1&${MARK}=2`), 400, 'a parameter is repeated');
  });

  it('the sandbox: an unknown field or appid', async () => {
    const mint = (body: Record<string, unknown>) =>
      call('/sandbox/wechat/codes', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await expectNoEcho(await mint({ kind: 'app', [MARK]: true }), 400, 'the body has an unknown field');
    await expectNoEcho(await mint({ kind: 'app', appid: MARK }), 400, 'appid is not a configured WeChat app');
  });
});
