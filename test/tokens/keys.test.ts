import fc from 'fast-check';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW, getKeyRing, keysAt, phaseStarts } from '../../src/tokens/keys';
import { signJwt, verifyAccessToken, verifyIdTokenHint } from '../../src/tokens/jwt';

async function privateJwk(alg: 'RS256' | 'ES256', kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

const HOUR = 3600;
const now = () => Math.floor(Date.now() / 1000);
/** The key set of `keys` as it stands now, with tokens living an hour. */
const getKeySet = async (source: string) => (await getKeyRing(source, HOUR)).at(now());

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
    expect(await getKeyRing(source, HOUR)).toBe(await getKeyRing(source, HOUR));
    expect(await getKeySet(source)).toBe(await getKeySet(source));
  });

  it.each([
    ['no keys', async () => ({ keys: [] }), /no keys/],
    ['a key without kid', async () => ({ keys: [{ ...(await privateJwk('RS256', 'k')), kid: undefined }] }), /kid/],
    ['an unsupported alg', async () => ({ keys: [{ ...(await privateJwk('RS256', 'k')), alg: 'PS256' }] }), /alg/],
    ['a public key only', async () => ({ keys: [{ ...(await privateJwk('ES256', 'k')), d: undefined }] }), /private/],
    ['a duplicate kid', async () => ({ keys: [await privateJwk('ES256', 'k'), await privateJwk('ES256', 'k')] }), /duplicate/],
    ['no key active now', async () => ({ keys: [{ ...(await privateJwk('ES256', 'k')), nbf: now() + 60 }] }), /no key active now/],
    ...[-1, 1.5, '1700000000', null].map((nbf): [string, () => Promise<unknown>, RegExp] => [
      `nbf ${JSON.stringify(nbf)}`,
      async () => ({ keys: [{ ...(await privateJwk('ES256', 'k')), nbf }] }),
      /nbf/,
    ]),
  ])('refuses %s, and does not keep the failure', async (_, make, message) => {
    const source = JSON.stringify(await make());
    await expect(getKeySet(source)).rejects.toThrow(message);
    await expect(getKeySet(source)).rejects.toThrow(message);
  });
});

describe('which key signs and which are published, over time (docs/keys.md)', () => {
  const T = 1_800_000_000;
  const RETENTION = HOUR + CLOCK_SKEW;
  const kids = (keys: readonly { kid: string }[]) => keys.map((key) => key.kid);
  const at = (keys: readonly { kid: string; notBefore?: number }[], time: number) => {
    const { signing, published } = keysAt(keys, RETENTION, time);
    return { signing: signing?.kid, published: kids(published) };
  };

  it('publishes a pending key at once, and signs with it from its nbf on', () => {
    const keys = [{ kid: 'new', notBefore: T }, { kid: 'old' }];
    expect(at(keys, T - 86_400)).toEqual({ signing: 'old', published: ['new', 'old'] });
    expect(at(keys, T - 1)).toEqual({ signing: 'old', published: ['new', 'old'] });
    expect(at(keys, T)).toEqual({ signing: 'new', published: ['new', 'old'] });
    expect(at(keys, T + 1)).toEqual({ signing: 'new', published: ['new', 'old'] });
  });

  it('keeps a retired key published while a token it signed may be alive, and a clock skew more', () => {
    const keys = [{ kid: 'new', notBefore: T }, { kid: 'old' }];
    expect(at(keys, T + HOUR + CLOCK_SKEW - 1).published).toEqual(['new', 'old']);
    expect(at(keys, T + HOUR + CLOCK_SKEW).published).toEqual(['new']);
  });

  it('retires each key when the next newer one activates, in a set of three', () => {
    const keys = [{ kid: 'c', notBefore: T + 600 }, { kid: 'b', notBefore: T }, { kid: 'a' }];
    expect(at(keys, T + 599)).toEqual({ signing: 'b', published: ['c', 'b', 'a'] });
    expect(at(keys, T + RETENTION)).toEqual({ signing: 'c', published: ['c', 'b'] });
    expect(at(keys, T + 600 + RETENTION)).toEqual({ signing: 'c', published: ['c'] });
  });

  it('signs with no key before its nbf, whatever its place, and with none at all before the first', () => {
    const keys = [{ kid: 'later', notBefore: T + 100 }, { kid: 'first', notBefore: T }];
    expect(at(keys, T - 1)).toEqual({ signing: undefined, published: ['later', 'first'] });
    expect(at(keys, T + 50).signing).toBe('first');
  });

  it('keeps a key superseded by a key without nbf: when it retired is unknown', () => {
    expect(at([{ kid: 'new' }, { kid: 'old' }], Number.MAX_SAFE_INTEGER)).toEqual({ signing: 'new', published: ['new', 'old'] });
  });

  it('changes only at the phase starts: between two, the answer is that of the first', () => {
    const timed = fc.array(fc.option(fc.integer({ min: T - 10_000, max: T + 10_000 }), { nil: undefined }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(timed, fc.integer({ min: T - 20_000, max: T + 20_000 }), (times, time) => {
        const keys = times.map((notBefore, index) => ({ kid: `k${index}`, ...(notBefore !== undefined && { notBefore }) }));
        const starts = phaseStarts(keys, RETENTION);
        const start = starts.filter((from) => from <= time).at(-1)!;
        expect(at(keys, time)).toEqual(at(keys, start));
      }),
    );
  });

  it('precomputes each phase: the key set at a moment is the rule\'s answer, the same object and JWKS throughout its phase', async () => {
    const t = now();
    const jwks = { keys: [{ ...(await privateJwk('ES256', 'next')), nbf: t + 600 }, { ...(await privateJwk('ES256', 'current')), nbf: t - 60 }, await privateJwk('RS256', 'first')] };
    const ring = await getKeyRing(JSON.stringify(jwks), HOUR);
    const moments = phaseStarts(ring.keys, RETENTION).filter(Number.isFinite).flatMap((start) => [start - 1, start, start + 1]);
    for (const moment of moments.filter((moment) => moment >= t - 60)) {
      const keySet = ring.at(moment);
      const { signing, published } = keysAt(ring.keys, RETENTION, moment);
      expect(keySet.signing, `${moment - t}`).toBe(signing);
      expect(keySet.published).toEqual(published);
      expect(JSON.parse(keySet.jwksJson)).toEqual({ keys: published.map((key) => key.publicJwk) });
    }
    expect(ring.at(t)).toBe(ring.at(t + 599));
    expect(ring.at(t + 600)).not.toBe(ring.at(t + 599));
    expect(kids(ring.at(t + 600).published)).toEqual(['next', 'current', 'first']);
    expect(JSON.parse(ring.at(t).jwksJson).keys.map((key: JWK) => Object.keys(key).sort())).toEqual([
      ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
      ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
      ['alg', 'e', 'kid', 'kty', 'n', 'use'],
    ]);
  });
});
