import fc from 'fast-check';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
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
const kids = (keys: readonly { kid: string }[]) => keys.map((key) => key.kid);

const issuer = 'https://id.example.com';
const accessClaims = () => ({ iss: issuer, aud: issuer, sub: 's', client_id: 'c', scope: 'openid', jti: 'j', gid: 'g', iat: now(), exp: now() + 60, auth_time: now() });
const idClaims = () => ({ iss: issuer, aud: 'client', sub: 's', iat: now(), exp: now() + 60 });

describe('signing keys (docs/protocol.md §2)', () => {
  it('signs ID tokens with the RS256 key and access tokens with the ES256 key, and publishes both with alg and use', async () => {
    const keys = await getKeySet(JSON.stringify({ keys: [await privateJwk('RS256', 'rs'), await privateJwk('ES256', 'es')] }));
    expect([keys.idTokens.kid, keys.accessTokens.kid]).toEqual(['rs', 'es']);
    const jwks = JSON.parse(keys.jwksJson) as { keys: JWK[] };
    expect(jwks.keys.map((key) => [key.kid, key.alg, key.use])).toEqual([['rs', 'RS256', 'sig'], ['es', 'ES256', 'sig']]);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');

    // Each verifies with its own key and algorithm, by the provider and by anyone holding the JWKS.
    const accessToken = await signJwt(keys.accessTokens, accessClaims(), 'at+jwt');
    expect((await jwtVerify(accessToken, createLocalJWKSet(jwks))).protectedHeader).toEqual({ alg: 'ES256', kid: 'es', typ: 'at+jwt' });
    expect(await verifyAccessToken(keys, issuer, accessToken)).toMatchObject({ sub: 's', client_id: 'c' });
    const idToken = await signJwt(keys.idTokens, idClaims(), 'JWT');
    expect((await jwtVerify(idToken, createLocalJWKSet(jwks))).protectedHeader).toEqual({ alg: 'RS256', kid: 'rs', typ: 'JWT' });
    expect(await verifyIdTokenHint(keys, issuer, idToken)).toMatchObject({ aud: 'client', sub: 's' });
  });

  it('verifies only tokens that name their key (kid), signed with that key in its own algorithm', async () => {
    const keys = await getKeySet(JSON.stringify({ keys: [await privateJwk('RS256', 'rs'), await privateJwk('ES256', 'es')] }));
    const rs = keys.idTokens.privateKey;
    const es = keys.accessTokens.privateKey;
    const stranger = (await generateKeyPair('ES256')).privateKey;
    const forged = async (header: { alg: string; kid?: string }, key: CryptoKey, typ: string) => new SignJWT(typ === 'JWT' ? idClaims() : accessClaims()).setProtectedHeader({ ...header, typ }).sign(key);
    for (const typ of ['at+jwt', 'JWT']) {
      const verify = (token: string) => (typ === 'JWT' ? verifyIdTokenHint(keys, issuer, token) : verifyAccessToken(keys, issuer, token));
      // The genuine articles, to show the refusals below are the header's doing.
      expect(await verify(await forged({ alg: 'RS256', kid: 'rs' }, rs, typ)), typ).not.toBeNull();
      expect(await verify(await forged({ alg: 'ES256', kid: 'es' }, es, typ)), typ).not.toBeNull();
      for (const [what, header, key] of [
        ['no kid', { alg: 'RS256' }, rs],
        ['no kid, ES256', { alg: 'ES256' }, es],
        ['an unknown kid', { alg: 'ES256', kid: 'nobody' }, es],
        ['the RS256 kid with an ES256 signature', { alg: 'ES256', kid: 'rs' }, es],
        ['the ES256 kid with an RS256 signature', { alg: 'RS256', kid: 'es' }, rs],
        ['the ES256 kid signed by a stranger', { alg: 'ES256', kid: 'es' }, stranger],
      ] as const) {
        expect(await verify(await forged(header, key, typ)), `${typ}: ${what}`).toBeNull();
      }
    }
  });

  it('signs access tokens RS256 too with a set of RS256 keys only, as older deployments have', async () => {
    const keys = await getKeySet(JSON.stringify({ keys: [await privateJwk('RS256', 'only')] }));
    expect(keys.accessTokens).toBe(keys.idTokens);
    const accessToken = await signJwt(keys.accessTokens, accessClaims(), 'at+jwt');
    expect(decodeProtectedHeader(accessToken)).toEqual({ alg: 'RS256', kid: 'only', typ: 'at+jwt' });
    expect(await verifyAccessToken(keys, issuer, accessToken)).toMatchObject({ sub: 's' });
  });

  it('signs access tokens RS256 until a first ES256 key\'s nbf, ES256 from then on', async () => {
    const t = now();
    const ring = await getKeyRing(JSON.stringify({ keys: [{ ...(await privateJwk('ES256', 'es')), nbf: t + 600 }, await privateJwk('RS256', 'rs')] }), HOUR);
    expect(kids(ring.at(t).published)).toEqual(['es', 'rs']);
    expect([ring.at(t + 599).idTokens.kid, ring.at(t + 599).accessTokens.kid]).toEqual(['rs', 'rs']);
    expect([ring.at(t + 600).idTokens.kid, ring.at(t + 600).accessTokens.kid]).toEqual(['rs', 'es']);
  });

  it('reads an expired ID token hint, but not one of another issuer or an access token', async () => {
    const keys = await getKeySet(JSON.stringify({ keys: [await privateJwk('RS256', 'hint'), await privateJwk('ES256', 'access')] }));
    const past = now() - 7200;
    const expired = await signJwt(keys.idTokens, { iss: issuer, aud: 'client', sub: 's', iat: past, exp: past + 60 }, 'JWT');
    expect(await verifyIdTokenHint(keys, issuer, expired)).toMatchObject({ aud: 'client', sub: 's' });
    expect(await verifyIdTokenHint(keys, 'https://other.example.com', expired)).toBeNull();
    for (const key of [keys.accessTokens, keys.idTokens]) {
      const accessToken = await signJwt(key, { iss: issuer, aud: issuer, sub: 's', iat: past, exp: past + 60 }, 'at+jwt');
      expect(await verifyIdTokenHint(keys, issuer, accessToken)).toBeNull();
    }
  });

  it('imports a key set once per isolate', async () => {
    const source = JSON.stringify({ keys: [await privateJwk('RS256', 'once'), await privateJwk('ES256', 'once-es')] });
    expect(await getKeyRing(source, HOUR)).toBe(await getKeyRing(source, HOUR));
    expect(await getKeySet(source)).toBe(await getKeySet(source));
  });

  it.each([
    ['no keys', async () => ({ keys: [] }), /no keys/],
    ['a key without kid', async () => ({ keys: [{ ...(await privateJwk('RS256', 'k')), kid: undefined }] }), /kid/],
    ['an unsupported alg', async () => ({ keys: [{ ...(await privateJwk('RS256', 'k')), alg: 'PS256' }] }), /alg/],
    ['a public key only', async () => ({ keys: [{ ...(await privateJwk('ES256', 'k')), d: undefined }, await privateJwk('RS256', 'r')] }), /private/],
    ['a duplicate kid', async () => ({ keys: [await privateJwk('RS256', 'k'), await privateJwk('ES256', 'k')] }), /duplicate/],
    ['an ES256 key only', async () => ({ keys: [await privateJwk('ES256', 'k')] }), /no RS256 key: ID tokens are signed RS256/],
    ['ES256 keys only, two of them', async () => ({ keys: [await privateJwk('ES256', 'k2'), await privateJwk('ES256', 'k1')] }), /no RS256 key/],
    ['no RS256 key active now', async () => ({ keys: [{ ...(await privateJwk('RS256', 'k')), nbf: now() + 60 }] }), /no RS256 key active now/],
    ['no RS256 key active now, an ES256 one active', async () => ({ keys: [{ ...(await privateJwk('RS256', 'k')), nbf: now() + 60 }, await privateJwk('ES256', 'e')] }), /no RS256 key active now/],
    ...[-1, 1.5, '1700000000', null].map((nbf): [string, () => Promise<unknown>, RegExp] => [
      `nbf ${JSON.stringify(nbf)}`,
      async () => ({ keys: [{ ...(await privateJwk('ES256', 'k')), nbf }, await privateJwk('RS256', 'r')] }),
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
  type Key = { kid: string; alg: string; notBefore?: number };
  /** An RS256 key: one algorithm, as in most of these cases. */
  const rs = (kid: string, notBefore?: number): Key => ({ kid, alg: 'RS256', ...(notBefore !== undefined && { notBefore }) });
  const es = (kid: string, notBefore?: number): Key => ({ ...rs(kid, notBefore), alg: 'ES256' });
  /** The RS256 signer and the published keys at `time`. */
  const at = (keys: readonly Key[], time: number) => {
    const { signing, published } = keysAt(keys, RETENTION, time);
    return { signing: signing.RS256?.kid, published: kids(published) };
  };
  /** The signer of each algorithm and the published keys at `time`. */
  const both = (keys: readonly Key[], time: number) => {
    const { signing, published } = keysAt(keys, RETENTION, time);
    return { RS256: signing.RS256?.kid, ES256: signing.ES256?.kid, published: kids(published) };
  };

  it('publishes a pending key at once, and signs with it from its nbf on', () => {
    const keys = [rs('new', T), rs('old')];
    expect(at(keys, T - 86_400)).toEqual({ signing: 'old', published: ['new', 'old'] });
    expect(at(keys, T - 1)).toEqual({ signing: 'old', published: ['new', 'old'] });
    expect(at(keys, T)).toEqual({ signing: 'new', published: ['new', 'old'] });
    expect(at(keys, T + 1)).toEqual({ signing: 'new', published: ['new', 'old'] });
  });

  it('keeps a retired key published while a token it signed may be alive, and a clock skew more', () => {
    const keys = [rs('new', T), rs('old')];
    expect(at(keys, T + HOUR + CLOCK_SKEW - 1).published).toEqual(['new', 'old']);
    expect(at(keys, T + HOUR + CLOCK_SKEW).published).toEqual(['new']);
  });

  it('retires each key when the next newer one activates, in a set of three', () => {
    const keys = [rs('c', T + 600), rs('b', T), rs('a')];
    expect(at(keys, T + 599)).toEqual({ signing: 'b', published: ['c', 'b', 'a'] });
    expect(at(keys, T + RETENTION)).toEqual({ signing: 'c', published: ['c', 'b'] });
    expect(at(keys, T + 600 + RETENTION)).toEqual({ signing: 'c', published: ['c'] });
  });

  it('signs with no key before its nbf, whatever its place, and with none at all before the first', () => {
    const keys = [rs('later', T + 100), rs('first', T)];
    expect(at(keys, T - 1)).toEqual({ signing: undefined, published: ['later', 'first'] });
    expect(at(keys, T + 50).signing).toBe('first');
  });

  it('keeps a key superseded by a key without nbf: when it retired is unknown', () => {
    expect(at([rs('new'), rs('old')], Number.MAX_SAFE_INTEGER)).toEqual({ signing: 'new', published: ['new', 'old'] });
  });

  it('rotates each algorithm on its own: a new RS256 key retires the old RS256 key, never the ES256 key', () => {
    const keys = [rs('rs2', T), es('es2', T + 600), es('es1'), rs('rs1')];
    expect(both(keys, T - 1)).toEqual({ RS256: 'rs1', ES256: 'es1', published: ['rs2', 'es2', 'es1', 'rs1'] });
    expect(both(keys, T)).toEqual({ RS256: 'rs2', ES256: 'es1', published: ['rs2', 'es2', 'es1', 'rs1'] });
    expect(both(keys, T + 600)).toEqual({ RS256: 'rs2', ES256: 'es2', published: ['rs2', 'es2', 'es1', 'rs1'] });
    expect(both(keys, T + RETENTION)).toEqual({ RS256: 'rs2', ES256: 'es2', published: ['rs2', 'es2', 'es1'] });
    expect(both(keys, T + 600 + RETENTION)).toEqual({ RS256: 'rs2', ES256: 'es2', published: ['rs2', 'es2'] });
    // Only an ES256 key, however new, retires no RS256 key.
    expect(both([es('es', T), rs('rs')], Number.MAX_SAFE_INTEGER)).toEqual({ RS256: 'rs', ES256: 'es', published: ['es', 'rs'] });
  });

  it('changes only at the phase starts: between two, the answer is that of the first', () => {
    const key = fc.record({ alg: fc.constantFrom('RS256', 'ES256'), notBefore: fc.option(fc.integer({ min: T - 10_000, max: T + 10_000 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 6 }), fc.integer({ min: T - 20_000, max: T + 20_000 }), (drawn, time) => {
        const keys = drawn.map(({ alg, notBefore }, index) => ({ kid: `k${index}`, alg, ...(notBefore !== undefined && { notBefore }) }));
        const starts = phaseStarts(keys, RETENTION);
        const start = starts.filter((from) => from <= time).at(-1)!;
        expect(both(keys, time)).toEqual(both(keys, start));
      }),
    );
  });

  it('precomputes each phase: the key set at a moment is the rule\'s answer, the same object and JWKS throughout its phase', async () => {
    const t = now();
    const jwks = {
      keys: [
        { ...(await privateJwk('ES256', 'next')), nbf: t + 600 },
        { ...(await privateJwk('RS256', 'rs-next')), nbf: t + 900 },
        { ...(await privateJwk('ES256', 'current')), nbf: t - 60 },
        await privateJwk('RS256', 'first'),
      ],
    };
    const ring = await getKeyRing(JSON.stringify(jwks), HOUR);
    const moments = phaseStarts(ring.keys, RETENTION).filter(Number.isFinite).flatMap((start) => [start - 1, start, start + 1]);
    for (const moment of moments.filter((moment) => moment >= t - 60)) {
      const keySet = ring.at(moment);
      const { signing, published } = keysAt(ring.keys, RETENTION, moment);
      expect(keySet.idTokens, `${moment - t}`).toBe(signing.RS256);
      expect(keySet.accessTokens, `${moment - t}`).toBe(signing.ES256 ?? signing.RS256);
      expect(keySet.published).toEqual(published);
      expect(JSON.parse(keySet.jwksJson)).toEqual({ keys: published.map((key) => key.publicJwk) });
    }
    expect(ring.at(t)).toBe(ring.at(t + 599));
    expect(ring.at(t + 600)).not.toBe(ring.at(t + 599));
    expect(kids(ring.at(t + 600).published)).toEqual(['next', 'rs-next', 'current', 'first']);
    expect(JSON.parse(ring.at(t).jwksJson).keys.map((key: JWK) => Object.keys(key).sort())).toEqual([
      ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
      ['alg', 'e', 'kid', 'kty', 'n', 'use'],
      ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
      ['alg', 'e', 'kid', 'kty', 'n', 'use'],
    ]);
  });
});
