import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { getKeySet } from '../../src/tokens/keys';
import { signJwt, verifyAccessToken, verifyIdTokenHint } from '../../src/tokens/jwt';

async function privateJwk(alg: 'RS256' | 'ES256', kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

describe('signing keys (docs/protocol.md §2)', () => {
  it('verifies only tokens that name their key (kid), as every token of this issuer does', async () => {
    const keys = await getKeySet(JSON.stringify({ keys: [await privateJwk('RS256', 'only')] }));
    const issuer = 'https://id.example.com';
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer, aud: issuer, sub: 's', client_id: 'c', scope: 'openid', jti: 'j', gid: 'g', iat: now, exp: now + 60, auth_time: now };
    expect(await verifyAccessToken(keys, issuer, await signJwt(keys, claims, 'at+jwt'))).toMatchObject({ sub: 's' });
    const withoutKid = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' }).sign(keys.signing.privateKey);
    expect(await verifyAccessToken(keys, issuer, withoutKid)).toBeNull();
    const hintWithoutKid = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(keys.signing.privateKey);
    expect(await verifyIdTokenHint(keys, issuer, hintWithoutKid)).toBeNull();
  });

  it('reads an expired ID token hint, but not one of another issuer or an access token', async () => {
    const keys = await getKeySet(JSON.stringify({ keys: [await privateJwk('ES256', 'hint')] }));
    const issuer = 'https://id.example.com';
    const past = Math.floor(Date.now() / 1000) - 7200;
    const expired = await signJwt(keys, { iss: issuer, aud: 'client', sub: 's', iat: past, exp: past + 60 }, 'JWT');
    expect(await verifyIdTokenHint(keys, issuer, expired)).toMatchObject({ aud: 'client', sub: 's' });
    expect(await verifyIdTokenHint(keys, 'https://other.example.com', expired)).toBeNull();
    const accessToken = await signJwt(keys, { iss: issuer, aud: issuer, sub: 's', iat: past, exp: past + 60 }, 'at+jwt');
    expect(await verifyIdTokenHint(keys, issuer, accessToken)).toBeNull();
  });

  it('signs with the newest (first) key, ES256 as well as RS256, and publishes every key', async () => {
    const source = JSON.stringify({ keys: [await privateJwk('ES256', 'new'), await privateJwk('RS256', 'old')] });
    const keys = await getKeySet(source);
    expect(keys.signing.kid).toBe('new');
    const jwks = JSON.parse(keys.jwksJson) as { keys: JWK[] };
    expect(jwks.keys.map((key) => [key.kid, key.alg, key.use])).toEqual([['new', 'ES256', 'sig'], ['old', 'RS256', 'sig']]);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');

    const token = await signJwt(keys, { sub: 'x' }, 'JWT');
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks));
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: 'new', typ: 'JWT' });
  });

  it('imports a key set once per isolate', async () => {
    const source = JSON.stringify({ keys: [await privateJwk('RS256', 'once')] });
    expect(await getKeySet(source)).toBe(await getKeySet(source));
  });

  it.each([
    ['no keys', async () => ({ keys: [] }), /no keys/],
    ['a key without kid', async () => ({ keys: [{ ...(await privateJwk('RS256', 'k')), kid: undefined }] }), /kid/],
    ['an unsupported alg', async () => ({ keys: [{ ...(await privateJwk('RS256', 'k')), alg: 'PS256' }] }), /alg/],
    ['a public key only', async () => ({ keys: [{ ...(await privateJwk('ES256', 'k')), d: undefined }] }), /private/],
    ['a duplicate kid', async () => ({ keys: [await privateJwk('ES256', 'k'), await privateJwk('ES256', 'k')] }), /duplicate/],
  ])('refuses %s, and does not keep the failure', async (_, make, message) => {
    const source = JSON.stringify(await make());
    await expect(getKeySet(source)).rejects.toThrow(message);
    await expect(getKeySet(source)).rejects.toThrow(message);
  });
});
