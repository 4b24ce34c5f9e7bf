/**
 * Oversized `scope` parameters wherever a scope is read: the authorization
 * request, the token exchange, the refresh and the device authorization.
 * Thousands of scope values once reached D1 as thousands of SQL variables
 * (a 500); they are refused as `invalid_scope` (RFC 6749 §3.3, §5.2) before
 * anything is stored or asked of WeChat.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_SCOPE_LENGTH, MAX_SCOPES } from '../../src/oidc/scopes';
import { authorizeUrl, Browser, pkce, webClientMetadata } from '../support/browser';
import { APP_CODE, login, mint, postForm, register, TOKEN_EXCHANGE, type RegisteredClient } from '../support/oidc';
import { expectJsonError, sendWatched } from './support';
import { DEVICE_CODE } from './world';

/** `count` distinct scope values, `openid` first. */
const scopes = (count: number) => ['openid', ...Array.from({ length: count - 1 }, (_, i) => `s${i}`)].join(' ');

const OVERSIZED: [string, string][] = [
  ['3,000 scope values', scopes(3000)],
  [`${MAX_SCOPES + 1} scope values`, scopes(MAX_SCOPES + 1)],
  [`${MAX_SCOPE_LENGTH + 1} characters`, `openid ${'x'.repeat(MAX_SCOPE_LENGTH - 6)}`],
];

let client: RegisteredClient;

beforeAll(async () => {
  client = await register({ ...webClientMetadata, grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE, DEVICE_CODE] });
});

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const basicAuth = (c: RegisteredClient) => `Basic ${btoa(`${c.client_id}:${c.client_secret}`)}`;

async function expectInvalidScope(path: string, params: Record<string, string>) {
  const { response, unchanged } = await sendWatched(path, {
    method: 'POST',
    headers: { ...FORM, Authorization: basicAuth(client) },
    body: new URLSearchParams(params),
  });
  const body = await expectJsonError(response, { 400: ['invalid_scope'] }, path);
  expect(body.error_description).toMatch(/^scope (is too long|has too many values)$/);
  unchanged();
}

describe('hostile input: oversized scope parameters', () => {
  it.each(OVERSIZED)('the refresh grant refuses %s with invalid_scope, and the refresh token stays good', async (_, scope) => {
    const tokens = await login(client, { kind: 'app' });
    await expectInvalidScope('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, scope });
    expect((await postForm('/token', client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! })).status).toBe(200);
  });

  it.each(OVERSIZED)('the token exchange refuses %s before the WeChat code is spent', async (_, scope) => {
    const minted = await mint({ kind: 'app' });
    await expectInvalidScope('/token', { grant_type: TOKEN_EXCHANGE, subject_token: minted.code, subject_token_type: APP_CODE, wechat_appid: minted.appid, scope });
    const spent = await postForm('/token', client, { grant_type: TOKEN_EXCHANGE, subject_token: minted.code, subject_token_type: APP_CODE, wechat_appid: minted.appid });
    expect(spent.status).toBe(200);
  });

  it.each(OVERSIZED)('the device authorization refuses %s', async (_, scope) => {
    await expectInvalidScope('/device_authorization', { scope });
  });

  it.each(OVERSIZED.slice(1))('the authorization endpoint sends %s back as invalid_scope', async (_, scope) => {
    const { challenge } = await pkce();
    const { response, unchanged } = await sendWatched(authorizeUrl(client, { scope, code_challenge: challenge, code_challenge_method: 'S256' }), {});
    expect(response.status).toBe(302);
    const back = new URL(response.headers.get('Location')!);
    expect(back.searchParams.get('error')).toBe('invalid_scope');
    unchanged();
  });

  it('the authorization endpoint refuses 3,000 scope values as a parameter too long', async () => {
    const response = await new Browser().get(authorizeUrl(client, { scope: scopes(3000) }));
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get('Location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it(`takes ${MAX_SCOPES} scope values, the unknown ones dropped, everywhere`, async () => {
    const scope = `${scopes(MAX_SCOPES - 1)} offline_access`;
    const tokens = await login(client, { kind: 'app' }, { scope });
    expect(tokens.scope).toBe('openid offline_access');
    const refreshed = await postForm('/token', client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, scope });
    // Unknown values were never granted: narrowing to them is asking for more (RFC 6749 §6).
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_scope', error_description: 'the scope asks for more than was granted' });
    expect((await postForm('/device_authorization', client, { scope })).status).toBe(200);
  });
});
