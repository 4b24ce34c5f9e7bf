/**
 * Pairwise subject identifiers (OpenID Connect Core §8, docs/protocol.md
 * "Pairwise subjects") wherever a `sub` leaves the bridge: ID tokens, access
 * tokens (RFC 9068), userinfo, introspection (RFC 7662), by every grant.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import type { Env } from '../../src/config';
import { sandboxTransport } from '../../src/sandbox';
import { approve, Browser, browserLogin, REDIRECT_URI, redeem } from '../support/browser';
import { APP_CODE, call, claimsOf, exchange, ISSUER, login, mint, postForm, register, uniqueId, type RegisteredClient, type TokenSet } from '../support/oidc';

const CODE = 'authorization_code';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

const pairwiseClient = (redirect: string, grants = [EXCHANGE, 'refresh_token']) =>
  register({ subject_type: 'pairwise', redirect_uris: [redirect], grant_types: grants });

/** The same person (one unionid) logging in to `client` by the mini program's token exchange. */
const loginAs = (client: RegisteredClient, unionid: string) => login(client, { kind: 'miniprogram', unionid });

const subOf = (tokens: TokenSet) => claimsOf(tokens.id_token!).sub as string;

const userIdOf = async (unionid: string) =>
  (await env.DB.prepare('SELECT user_id FROM wechat_unionids WHERE unionid = ?').bind(unionid).first<{ user_id: string }>())!.user_id;

const userinfo = async (accessToken: string) => (await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } })).json<Record<string, unknown>>();
const introspect = async (client: RegisteredClient, token: string) => (await postForm('/introspect', client, { token })).json<Record<string, unknown>>();

describe('OpenID Connect Core §8.1: which clients share a sub', () => {
  it('pairwise clients on different hosts see different subs, on one host the same; none sees the public one', async () => {
    const unionid = uniqueId('pairwise');
    const [publicClient, hostA, hostAOther, hostB, noHost, noHostOther] = await Promise.all([
      register(),
      pairwiseClient('https://a.example/cb', [CODE, EXCHANGE]),
      pairwiseClient('https://a.example/elsewhere', [CODE, EXCHANGE]),
      pairwiseClient('https://b.example/cb', [CODE, EXCHANGE]),
      register({ subject_type: 'pairwise' }),
      register({ subject_type: 'pairwise' }),
    ]);
    const subs = [];
    for (const client of [publicClient, hostA, hostAOther, hostB, noHost, noHostOther]) subs.push(subOf(await loginAs(client, unionid)));
    const [publicSub, subA, subAOther, subB, subNoHost, subNoHostOther] = subs;

    expect(publicSub).toBe(await userIdOf(unionid));
    expect(subAOther).toBe(subA);
    // Five distinct subs: the public one, host a's, host b's, and one for each client without a host.
    expect(new Set([publicSub, subA, subB, subNoHost, subNoHostOther]).size).toBe(5);
  });

  it('the ID token, the access token, userinfo and introspection agree; logins and refreshes keep the sub', async () => {
    const unionid = uniqueId('agree');
    const client = await pairwiseClient('https://agree.example/cb');
    const first = await loginAs(client, unionid);
    const sub = subOf(first);
    expect(sub).not.toBe(await userIdOf(unionid));

    expect(claimsOf(first.access_token).sub).toBe(sub);
    expect((await userinfo(first.access_token)).sub).toBe(sub);
    expect(await introspect(client, first.access_token)).toMatchObject({ active: true, sub });
    expect(await introspect(client, first.refresh_token!)).toMatchObject({ active: true, token_type: 'refresh_token', sub });

    const refreshed = await (await postForm('/token', client, { grant_type: 'refresh_token', refresh_token: first.refresh_token! })).json<TokenSet>();
    expect([subOf(refreshed), claimsOf(refreshed.access_token).sub, (await userinfo(refreshed.access_token)).sub]).toEqual([sub, sub, sub]);

    // A later login of the same person, from another WeChat app of the same account (the unionid joins them).
    const minted = await mint({ kind: 'app', unionid });
    const again = await (await exchange(client, minted.code, APP_CODE, { wechat_appid: minted.appid })).json<TokenSet>();
    expect(subOf(again)).toBe(sub);
  });

  it('the code flow and the device flow give the sub of the token exchange', async () => {
    const unionid = uniqueId('flows');
    const client = await pairwiseClient(REDIRECT_URI, [CODE, EXCHANGE, DEVICE, 'refresh_token']);
    const sub = subOf(await loginAs(client, unionid));

    const browser = new Browser();
    const back = await browserLogin(browser, client, { scope: 'openid' }, { unionid });
    const byCode = await (await redeem(client, back.get('code')!)).json<TokenSet>();
    expect([subOf(byCode), claimsOf(byCode.access_token).sub]).toEqual([sub, sub]);

    const device = await (await postForm('/device_authorization', client, { scope: 'openid' })).json<{ device_code: string; user_code: string }>();
    expect((await approve(device.user_code, { unionid })).status).toBe(200);
    const byDevice = await (await postForm('/token', client, { grant_type: DEVICE, device_code: device.device_code })).json<TokenSet>();
    expect([subOf(byDevice), claimsOf(byDevice.access_token).sub, (await userinfo(byDevice.access_token)).sub]).toEqual([sub, sub, sub]);
  });

  it('a signing-key rotation changes no sub', async () => {
    const unionid = uniqueId('rotation');
    const client = await pairwiseClient('https://rotation.example/cb');
    const before = await loginAs(client, unionid);
    const sub = subOf(before);

    // The same bridge with a new RS256 key first: it signs ID tokens, the others are still published.
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const newKey: JWK = { ...(await exportJWK(privateKey)), kid: uniqueId('new'), alg: 'RS256', use: 'sig' };
    const current = JSON.parse(env.SIGNING_KEYS) as { keys: JWK[] };
    const rotatedEnv: Env = { ...env, SIGNING_KEYS: JSON.stringify({ keys: [newKey, ...current.keys] }) };
    const rotated = createApp({ wechatTransport: sandboxTransport });
    const send = (path: string, body: Record<string, string>) =>
      Promise.resolve(
        rotated.request(`${ISSUER}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}` },
          body: new URLSearchParams(body),
        }, rotatedEnv, createExecutionContext()),
      );

    const refreshed = await (await send('/token', { grant_type: 'refresh_token', refresh_token: before.refresh_token! })).json<TokenSet>();
    expect(JSON.parse(atob(refreshed.id_token!.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))).kid).toBe(newKey.kid);
    expect([subOf(refreshed), claimsOf(refreshed.access_token).sub]).toEqual([sub, sub]);
    const minted = await mint({ kind: 'miniprogram', unionid });
    const again = await (
      await send('/token', { grant_type: EXCHANGE, subject_token: minted.code, subject_token_type: 'urn:wechat:token-type:miniprogram_code', scope: 'openid', wechat_appid: minted.appid })
    ).json<TokenSet>();
    expect(subOf(again)).toBe(sub);
  });
});
