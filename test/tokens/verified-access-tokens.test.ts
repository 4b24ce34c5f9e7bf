/**
 * An isolate remembers the access tokens it verified, until they expire: the
 * second use of a token skips the signature, never the expiry, the issuer,
 * the key set or the revocation check (which is D1's, and is tested with
 * userinfo and introspection).
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { getKeyRing } from '../../src/tokens/keys';
import { signJwt, verifyAccessToken } from '../../src/tokens/jwt';

async function privateJwk(alg: 'RS256' | 'ES256', kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

const now = () => Math.floor(Date.now() / 1000);
const keySet = async (...keys: JWK[]) => (await getKeyRing(JSON.stringify({ keys }), 3600)).at(now());
const issuer = 'https://id.example.com';
const claims = (lifetime: number) => ({ iss: issuer, aud: issuer, sub: 's', client_id: 'c', scope: 'openid', jti: crypto.randomUUID(), gid: 'g', iat: now(), exp: now() + lifetime, auth_time: now() });

describe('verified access tokens, remembered per key set until they expire', () => {
  it('answers a token verified before with the same frozen claims', async () => {
    const keys = await keySet(await privateJwk('RS256', 'rs'), await privateJwk('ES256', 'es'));
    const token = await signJwt(keys.accessTokens, claims(60), 'at+jwt');
    const first = await verifyAccessToken(keys, issuer, token);
    expect(first).toMatchObject({ sub: 's', client_id: 'c' });
    expect(await verifyAccessToken(keys, issuer, token)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('refuses it once it has expired, though it was verified while it lived', async () => {
    const keys = await keySet(await privateJwk('RS256', 'rs'), await privateJwk('ES256', 'es'));
    const token = await signJwt(keys.accessTokens, claims(1), 'at+jwt');
    expect(await verifyAccessToken(keys, issuer, token)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await verifyAccessToken(keys, issuer, token)).toBeNull();
  });

  it('does not lend a token to another issuer, another key set, or a token that differs by one character', async () => {
    const rs = await privateJwk('RS256', 'rs');
    const keys = await keySet(rs, await privateJwk('ES256', 'es'));
    const token = await signJwt(keys.accessTokens, claims(60), 'at+jwt');
    expect(await verifyAccessToken(keys, issuer, token)).not.toBeNull();

    expect(await verifyAccessToken(keys, 'https://other.example.com', token)).toBeNull();
    // A key set without the token's key (another deployment's, or after the key was retired) verifies it afresh: no.
    expect(await verifyAccessToken(await keySet(rs), issuer, token)).toBeNull();
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${header}.${payload}.${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    expect(await verifyAccessToken(keys, issuer, flipped)).toBeNull();
  });
});
