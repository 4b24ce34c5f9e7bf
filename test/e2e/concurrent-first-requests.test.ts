/**
 * The first requests a fresh isolate serves, arriving together, as when several
 * clients find a newly started provider at once. workerd ties a promise to the
 * request that created it: a request awaiting a promise another request created
 * may not resume until some later event wakes the isolate. So every answer must
 * come on its own, promptly, with nothing arriving afterwards to wake it, and
 * workerd must not warn about promises settled across requests. (The hang for
 * certain, a refresh whose request is canceled, is in
 * test/faults/stable-token-canceled-fetch.test.ts: wrangler dev does not cancel
 * a request when its client hangs up.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintCode } from './support/mini-program.ts';
import { type Provider, startProvider } from './support/provider.ts';

/** Generous for a slow machine; a stuck request waits for the next connection, which never comes. */
const BOUND_MS = 10_000;
/** Answers nothing and caches nothing: the isolate is up but cold. */
const PROBE = '/probe-nothing-cached';

const N = 8;
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const CROSS_REQUEST_WARNING = /different request context|cross[- ]request/i;

describe('concurrent first requests to a fresh isolate', { timeout: 120_000 }, () => {
  let provider: Provider;
  beforeAll(async () => {
    provider = await startProvider({ probe: PROBE });
  });
  afterAll(async () => {
    await provider?.stop();
  });

  it('discovery and the JWKS all answer, none waiting for another connection', async () => {
    const urls = Array.from({ length: 10 }, (_, i) =>
      i % 2 ? `${provider.issuer}/jwks` : `${provider.issuer}/.well-known/openid-configuration`,
    );
    const results = await Promise.all(
      urls.map(async (url) => {
        try {
          const response = await fetch(url, { signal: AbortSignal.timeout(BOUND_MS) });
          await response.arrayBuffer();
          return { url, status: response.status };
        } catch (error) {
          return { url, status: (error as Error).name };
        }
      }),
    );
    expect(results.map((result) => result.status)).toEqual(urls.map(() => 200));
    expect(provider.output()).not.toMatch(CROSS_REQUEST_WARNING);
  });

  it('token exchanges that all need the first mini program access token all answer', async () => {
    // Registration and minting touch neither the keys nor the access token.
    const registered = await fetch(`${provider.issuer}/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${provider.registrationToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grant_types: [TOKEN_EXCHANGE], token_endpoint_auth_method: 'client_secret_post' }),
    });
    expect(registered.status).toBe(201);
    const { client_id, client_secret } = (await registered.json()) as { client_id: string; client_secret: string };
    const codes = [];
    for (let i = 0; i < N; i++) {
      const login = await mintCode(provider.issuer, { kind: 'miniprogram' });
      const phone = await mintCode(provider.issuer, { kind: 'phone', phone: '+8613800138000' });
      codes.push({ login: login.code, phone: phone.code });
    }
    // A slow stable_token answer keeps the first refresh in flight while the others arrive.
    const queued = await fetch(`${provider.issuer}/sandbox/wechat/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: '/cgi-bin/stable_token', fault: 'slow', times: 1 }),
    });
    expect(queued.status).toBe(200);
    const results = await Promise.all(
      codes.map(async ({ login, phone }) => {
        try {
          const response = await fetch(`${provider.issuer}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: TOKEN_EXCHANGE,
              client_id,
              client_secret,
              subject_token: login,
              subject_token_type: 'urn:wechat:token-type:miniprogram_code',
              wechat_phone_code: phone,
              scope: 'openid phone',
            }),
            signal: AbortSignal.timeout(BOUND_MS),
          });
          const text = await response.text();
          return response.status === 200 ? 200 : `${response.status} ${text}`;
        } catch (error) {
          return (error as Error).name;
        }
      }),
    );
    expect(results).toEqual(codes.map(() => 200));
    expect(provider.output()).not.toMatch(CROSS_REQUEST_WARNING);
  });
});
