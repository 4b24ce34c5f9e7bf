/**
 * A certified relying-party library (openid-client 6) against the provider as
 * `npm start` runs it: discovery (docs/protocol.md §2), dynamic registration (§3), the
 * WeChat token exchange of a native app and a mini program (§4, RFC 8693),
 * userinfo and refresh-token rotation (§7). openid-client checks the ID tokens
 * itself: signature against jwks_uri, iss, aud, exp, iat.
 */
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startProvider, type Provider } from './support/provider.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const MINIPROGRAM_CODE = 'urn:wechat:token-type:miniprogram_code';
const APP_CODE = 'urn:wechat:token-type:app_code';
const PHONE = '+8613800138000';
// http://localhost issuers: openid-client refuses plain http without this.
const insecure = { execute: [client.allowInsecureRequests] };

let provider: Provider;

beforeAll(async () => {
  provider = await startProvider();
});

afterAll(async () => {
  await provider?.stop();
});

// A failure's cause is usually in the provider's log (an unhandled error, a failed build).
beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`--- provider output (tail) ---\n${provider.output().slice(-4000)}`));
});

/** Mints a code with the WeChat sandbox (docs/protocol.md §6). */
async function mintCode(body: Record<string, unknown>): Promise<{ code: string; appid: string }> {
  const response = await fetch(`${provider.issuer}/sandbox/wechat/codes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.ok, `POST /sandbox/wechat/codes: ${response.status} ${await response.clone().text()}`).toBe(true);
  return (await response.json()) as { code: string; appid: string };
}

/** The OAuth error a rejected promise carries, e.g. invalid_grant. */
async function oauthError(promise: Promise<unknown>): Promise<{ error: string; status: number }> {
  const thrown = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(thrown).toBeInstanceOf(client.ResponseBodyError);
  const { error, status } = thrown as client.ResponseBodyError;
  return { error, status };
}

describe('openid-client against `npm start`', () => {
  let config: client.Configuration;
  let sub: string;
  let unionid: string;
  let refreshToken: string;

  it('discovers the provider (docs/protocol.md §2)', async () => {
    const discovered = await client.discovery(new URL(provider.issuer), 'discovery-only', undefined, client.None(), insecure);
    const metadata = discovered.serverMetadata();
    expect(metadata.issuer).toBe(provider.issuer);
    expect(metadata.registration_endpoint).toMatch(/^http:\/\/localhost:\d+\//);
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining([TOKEN_EXCHANGE, 'refresh_token']));
    expect(metadata.id_token_signing_alg_values_supported).toContain('RS256');
    expect(metadata.token_endpoint_auth_methods_supported).toContain('client_secret_basic');
  });

  it('refuses registration without the initial access token (RFC 7591 §3)', async () => {
    const discovered = await client.discovery(new URL(provider.issuer), 'discovery-only', undefined, client.None(), insecure);
    const response = await fetch(discovered.serverMetadata().registration_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_types: [TOKEN_EXCHANGE] }),
    });
    expect(response.status).toBe(401);
  });

  it('registers a confidential client with the registration token (RFC 7591)', async () => {
    config = await client.dynamicClientRegistration(
      new URL(provider.issuer),
      {
        client_name: 'openid-client e2e',
        grant_types: [TOKEN_EXCHANGE, 'refresh_token'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      client.ClientSecretBasic(),
      { ...insecure, initialAccessToken: provider.registrationToken },
    );
    const registered = config.clientMetadata();
    expect(registered.client_id).toEqual(expect.any(String));
    expect(registered.client_secret).toEqual(expect.any(String));
    expect(registered.token_endpoint_auth_method).toBe('client_secret_basic');
    expect(registered.grant_types).toEqual(expect.arrayContaining([TOKEN_EXCHANGE, 'refresh_token']));
  });

  it('exchanges a mini program code and a phone code for tokens (RFC 8693, docs/protocol.md §4)', async () => {
    unionid = `e2e-union-${randomUUID()}`;
    const login = await mintCode({ kind: 'miniprogram', unionid });
    const phone = await mintCode({ kind: 'phone', phone: PHONE });

    const tokens = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: login.code,
      subject_token_type: MINIPROGRAM_CODE,
      scope: 'openid profile phone offline_access',
      wechat_phone_code: phone.code,
    });
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.token_type).toBe('bearer'); // openid-client lower-cases it
    expect(tokens.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token');
    expect(tokens.expires_in).toBeGreaterThan(0);
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'phone', 'offline_access']));
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const claims = tokens.claims();
    expect(claims).toBeDefined();
    sub = claims!.sub;
    expect(sub).toEqual(expect.any(String));
    expect(sub).not.toContain(unionid); // docs/protocol.md §7: opaque, never the openid or unionid
    expect(claims!.iss).toBe(provider.issuer);
    expect([claims!.aud].flat()).toContain(config.clientMetadata().client_id);
    if (claims!.phone_number !== undefined) expect(claims!.phone_number).toBe(PHONE);

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub);
    expect(userinfo.sub).toBe(sub);
    expect(userinfo.phone_number).toBe(PHONE);
    expect(userinfo.phone_number_verified).toBe(true);

    refreshToken = tokens.refresh_token!;

    // A WeChat code is single use: the second exchange is invalid_grant.
    expect(
      await oauthError(
        client.genericGrantRequest(config, TOKEN_EXCHANGE, {
          subject_token: login.code,
          subject_token_type: MINIPROGRAM_CODE,
          scope: 'openid',
        }),
      ),
    ).toEqual({ error: 'invalid_grant', status: 400 });
  });

  it('rotates the refresh token; the old one is then invalid_grant and revokes the family (docs/protocol.md §7)', async () => {
    const refreshed = await client.refreshTokenGrant(config, refreshToken);
    expect(refreshed.access_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(refreshToken);
    if (refreshed.id_token) expect(refreshed.claims()?.sub).toBe(sub);
    expect((await client.fetchUserInfo(config, refreshed.access_token, sub)).phone_number).toBe(PHONE);

    expect(await oauthError(client.refreshTokenGrant(config, refreshToken))).toEqual({ error: 'invalid_grant', status: 400 });
    // The reuse revoked the whole family, the new refresh token included.
    expect(await oauthError(client.refreshTokenGrant(config, refreshed.refresh_token!))).toEqual({
      error: 'invalid_grant',
      status: 400,
    });
  });

  it('exchanges a mobile app code; the unionid binds it to the same user (docs/protocol.md §7)', async () => {
    const login = await mintCode({ kind: 'app', unionid, nickname: 'E2E 用户' });
    const tokens = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: login.code,
      subject_token_type: APP_CODE,
      scope: 'openid profile wechat',
    });
    expect(tokens.refresh_token).toBeUndefined(); // no offline_access asked
    expect(tokens.claims()?.sub).toBe(sub);

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub);
    expect(userinfo.wechat_appid).toBe(login.appid);
    expect(userinfo.wechat_unionid).toBe(unionid);
    expect(userinfo.wechat_openid).toEqual(expect.any(String));
    // A mobile app login reads the WeChat profile (sns/userinfo); wx.login has none.
    expect(userinfo.nickname).toBe('E2E 用户');
    // The phone number verified in the mini program belongs to the user, whatever the login.
    expect(userinfo.phone_number).toBeUndefined(); // phone was not asked
  });

  it('answers a bad WeChat code with invalid_grant', async () => {
    expect(
      await oauthError(
        client.genericGrantRequest(config, TOKEN_EXCHANGE, {
          subject_token: 'not-a-wechat-code',
          subject_token_type: APP_CODE,
          scope: 'openid',
        }),
      ),
    ).toEqual({ error: 'invalid_grant', status: 400 });
  });
});
