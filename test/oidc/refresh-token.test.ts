import { describe, expect, it } from 'vitest';
import { call, claimsOf, login, postForm, register, type RegisteredClient } from '../support/oidc';

const refresh = (client: RegisteredClient, token: string, extra: Record<string, string> = {}) =>
  postForm('/token', client, { grant_type: 'refresh_token', refresh_token: token, ...extra });

const userinfoStatus = async (accessToken: string) =>
  (await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } })).status;

describe('refresh token grant (RFC 6749 §6) with rotation', () => {
  it('rotates: new tokens for the same subject and auth_time, and the old refresh token is spent', async () => {
    const client = await register();
    const first = await login(client, { kind: 'miniprogram', appid: 'wx0000000000mini01' });
    const response = await refresh(client, first.refresh_token!);
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const second = await response.json<Record<string, string>>();
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.scope).toBe(first.scope);
    const before = claimsOf(first.id_token!);
    const after = claimsOf(second.id_token!);
    expect(after.sub).toBe(before.sub);
    expect(after.auth_time).toBe(before.auth_time);
    expect(await userinfoStatus(second.access_token!)).toBe(200);
  });

  it('revokes the whole family when a rotated refresh token is used again', async () => {
    const client = await register();
    const first = await login(client, { kind: 'app' });
    const second = await (await refresh(client, first.refresh_token!)).json<Record<string, string>>();
    expect(await userinfoStatus(second.access_token!)).toBe(200);

    const reuse = await refresh(client, first.refresh_token!);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
    // Everything issued from the grant is dead: the newest refresh token and every access token.
    expect(await userinfoStatus(second.access_token!)).toBe(401);
    expect(await userinfoStatus(first.access_token)).toBe(401);
    expect((await refresh(client, second.refresh_token!)).status).toBe(400);
  });

  it('lets exactly one of two concurrent refreshes win, and then revokes the family', async () => {
    const client = await register();
    const first = await login(client, { kind: 'app' });
    const responses = await Promise.all([refresh(client, first.refresh_token!), refresh(client, first.refresh_token!)]);
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 400]);
    const winner = await responses.find((response) => response.status === 200)!.json<Record<string, string>>();
    // The loser was a reuse: the grant, and so the winner's tokens, are revoked.
    expect(await userinfoStatus(winner.access_token!)).toBe(401);
  });

  it('narrows the scope on request and refuses to widen it', async () => {
    const client = await register();
    const first = await login(client, { kind: 'app' }, { scope: 'openid phone offline_access' });
    const narrowed = await (await refresh(client, first.refresh_token!, { scope: 'openid' })).json<Record<string, string>>();
    expect(narrowed.scope).toBe('openid');
    const widened = await refresh(client, narrowed.refresh_token!, { scope: 'openid profile' });
    expect(widened.status).toBe(400);
    expect(await widened.json()).toMatchObject({ error: 'invalid_scope' });
  });

  it("refuses another client's refresh token without revoking it", async () => {
    const owner = await register();
    const thief = await register();
    const tokens = await login(owner, { kind: 'app' });
    const stolen = await refresh(thief, tokens.refresh_token!);
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await refresh(owner, tokens.refresh_token!)).status).toBe(200);
  });

  it('refuses an unknown or missing refresh token, and a client without the grant', async () => {
    const client = await register();
    expect(await (await refresh(client, 'not-a-token')).json()).toMatchObject({ error: 'invalid_grant' });
    expect(await (await postForm('/token', client, { grant_type: 'refresh_token' })).json()).toMatchObject({ error: 'invalid_request' });
    const noRefresh = await register({ grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'] });
    expect(await (await refresh(noRefresh, 'x')).json()).toMatchObject({ error: 'unauthorized_client' });
  });
});
