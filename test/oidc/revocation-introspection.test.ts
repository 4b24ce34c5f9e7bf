import { describe, expect, it } from 'vitest';
import { call, login, postForm, register, type RegisteredClient } from '../support/oidc';

const introspect = async (client: RegisteredClient, token: string) =>
  (await postForm('/introspect', client, { token })).json<Record<string, unknown>>();

const userinfoStatus = async (accessToken: string) =>
  (await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } })).status;

describe('introspection (RFC 7662)', () => {
  it('describes an active access token and refresh token to the client they were issued to', async () => {
    const client = await register();
    const tokens = await login(client, { kind: 'app' });
    const access = await introspect(client, tokens.access_token);
    expect(access).toMatchObject({ active: true, client_id: client.client_id, token_type: 'Bearer', scope: tokens.scope, sub: expect.any(String) });
    const refresh = await introspect(client, tokens.refresh_token!);
    expect(refresh).toMatchObject({ active: true, client_id: client.client_id, token_type: 'refresh_token', sub: access.sub });
  });

  it("says only active:false about other clients' tokens and nonsense", async () => {
    const owner = await register();
    const other = await register();
    const tokens = await login(owner, { kind: 'app' });
    expect(await introspect(other, tokens.access_token)).toEqual({ active: false });
    expect(await introspect(other, tokens.refresh_token!)).toEqual({ active: false });
    expect(await introspect(owner, 'garbage')).toEqual({ active: false });
  });

  it('requires client authentication and a token', async () => {
    const client = await register();
    const anonymous = await postForm('/introspect', undefined, { token: 'x' });
    expect(anonymous.status).toBe(401);
    const missing = await postForm('/introspect', client, {});
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('revocation (RFC 7009)', () => {
  it('revokes one access token, leaving the grant alive', async () => {
    const client = await register();
    const tokens = await login(client, { kind: 'app' });
    const response = await postForm('/revoke', client, { token: tokens.access_token, token_type_hint: 'access_token' });
    expect(response.status).toBe(200);
    expect(await userinfoStatus(tokens.access_token)).toBe(401);
    expect(await introspect(client, tokens.access_token)).toEqual({ active: false });
    expect((await introspect(client, tokens.refresh_token!)).active).toBe(true);
  });

  it('revokes the grant with its refresh token, and the access tokens with it (§2.1)', async () => {
    const client = await register();
    const tokens = await login(client, { kind: 'app' });
    // A wrong hint only orders the lookups.
    expect((await postForm('/revoke', client, { token: tokens.refresh_token!, token_type_hint: 'access_token' })).status).toBe(200);
    expect(await introspect(client, tokens.refresh_token!)).toEqual({ active: false });
    expect(await userinfoStatus(tokens.access_token)).toBe(401);
    const refreshed = await postForm('/token', client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it("answers 200 for unknown tokens and other clients' tokens, without revoking them", async () => {
    const owner = await register();
    const other = await register();
    const tokens = await login(owner, { kind: 'app' });
    expect((await postForm('/revoke', other, { token: tokens.access_token })).status).toBe(200);
    expect((await postForm('/revoke', other, { token: tokens.refresh_token! })).status).toBe(200);
    expect((await postForm('/revoke', owner, { token: 'unknown' })).status).toBe(200);
    expect(await userinfoStatus(tokens.access_token)).toBe(200);
  });

  it.each(['id_token', 'urn:example:unknown', ''])('ignores the unknown hint %j: the token is found as if no hint were given (§2.1)', async (hint) => {
    const client = await register();
    const tokens = await login(client, { kind: 'app' });
    const access = await postForm('/revoke', client, { token: tokens.access_token, token_type_hint: hint });
    expect(access.status).toBe(200);
    expect(await access.text()).toBe('');
    expect(await userinfoStatus(tokens.access_token)).toBe(401);
    expect((await introspect(client, tokens.refresh_token!)).active).toBe(true);

    expect((await postForm('/revoke', client, { token: tokens.refresh_token!, token_type_hint: hint })).status).toBe(200);
    expect(await introspect(client, tokens.refresh_token!)).toEqual({ active: false });
    // An unknown token with an unknown hint: 200 too (§2.2).
    expect((await postForm('/revoke', client, { token: 'unknown', token_type_hint: hint })).status).toBe(200);
  });

  it('refuses a missing token and an unauthenticated client', async () => {
    const client = await register();
    expect(await (await postForm('/revoke', client, {})).json()).toMatchObject({ error: 'invalid_request' });
    expect((await postForm('/revoke', undefined, { token: 'x' })).status).toBe(401);
  });
});
