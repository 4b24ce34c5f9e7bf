import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { call, claimsOf, ISSUER, login, register } from '../support/oidc';

describe('discovery (docs/protocol.md §2)', () => {
  it('publishes the endpoints and capabilities of docs/protocol.md §2, cacheably', async () => {
    const response = await call('/.well-known/openid-configuration');
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toMatch(/max-age=\d+/);
    const doc = await response.json<Record<string, unknown>>();
    expect(doc.issuer).toBe(ISSUER);
    for (const name of [
      'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'registration_endpoint',
      'revocation_endpoint', 'introspection_endpoint', 'device_authorization_endpoint', 'end_session_endpoint',
    ]) {
      expect(doc[name], name).toMatch(new RegExp(`^${ISSUER}/`));
    }
    expect(doc.grant_types_supported).toEqual(
      expect.arrayContaining([
        'authorization_code', 'refresh_token',
        'urn:ietf:params:oauth:grant-type:token-exchange', 'urn:ietf:params:oauth:grant-type:device_code',
      ]),
    );
    // ID tokens are RS256 whatever else the JWKS holds; access tokens (ES256) have no Discovery field.
    expect(doc.id_token_signing_alg_values_supported).toEqual(['RS256']);
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none']);
    expect(doc.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'phone', 'offline_access', 'wechat']));
    expect(doc.claims_supported).toEqual(expect.arrayContaining(['sub', 'phone_number', 'wechat_unionid']));
    expect(doc.authorization_response_iss_parameter_supported).toBe(true);
    // OpenID Connect Discovery 1.0 §3: both REQUIRED. A `sub` is per client only when the client registered `subject_type` `pairwise` (docs/protocol.md §7 "Subjects").
    expect(doc.response_types_supported).toContain('code');
    expect([...(doc.subject_types_supported as string[])].sort()).toEqual(['pairwise', 'public']);
  });

  it('publishes the RS256 and the ES256 key, public parts only, each with kid, alg and use', async () => {
    const response = await call('/jwks');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toContain('application/jwk-set+json');
    expect(response.headers.get('Cache-Control')).toMatch(/max-age=\d+/);
    const { keys } = await response.json<{ keys: Record<string, string>[] }>();
    expect(keys.map((key) => key.alg)).toEqual(['RS256', 'ES256']);
    for (const key of keys) {
      expect(key).toMatchObject({ use: 'sig', kid: expect.any(String) });
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
    }
  });

  it('signs ID tokens with the RS256 key and access tokens with the ES256 key; both verify against the published JWKS', async () => {
    const { keys } = await (await call('/jwks')).json<{ keys: { kid: string; alg: string }[] }>();
    const client = await register();
    const tokens = await login(client, { kind: 'miniprogram' });
    const jwks = createLocalJWKSet({ keys: keys as never });
    const idToken = await jwtVerify(tokens.id_token!, jwks, { issuer: ISSUER, audience: client.client_id });
    expect(idToken.protectedHeader).toMatchObject({ alg: 'RS256', kid: keys[0]!.kid });
    const accessToken = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, typ: 'at+jwt' });
    expect(accessToken.protectedHeader).toMatchObject({ alg: 'ES256', kid: keys[1]!.kid });
    expect(keys[1]!.alg).toBe('ES256');
    expect(accessToken.payload.client_id).toBe(client.client_id);
    expect(claimsOf(tokens.access_token).sub).toBe(idToken.payload.sub);
  });

  it('answers an unknown path with a JSON 404', async () => {
    const response = await call('/nope');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });
});
