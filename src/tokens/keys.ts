/**
 * Signing keys (docs/protocol.md §2): a private JWKS from configuration, newest key
 * first. The newest signs; every key is published so tokens signed before a
 * rotation still verify. Keys are imported once per isolate (see `cached`).
 */
import { createLocalJWKSet, errors, importJWK, type JWK, type JWTVerifyGetKey } from 'jose';

export type SigningAlg = 'RS256' | 'ES256';

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface KeySet {
  /** The newest key: it signs every token. */
  signing: SigningKey;
  all: readonly SigningKey[];
  /** Finds the key of a token this issuer signed, by its header's `kid` and `alg` (for jose's jwtVerify). */
  verificationKey: JWTVerifyGetKey;
  /** The public JWKS document, serialized once. */
  jwksJson: string;
}

const PUBLIC_MEMBERS: Record<SigningAlg, readonly string[]> = {
  RS256: ['kty', 'n', 'e'],
  ES256: ['kty', 'crv', 'x', 'y'],
};

/**
 * The imported key set of one SIGNING_KEYS value, kept once settled. Never a
 * pending promise: workerd ties a promise to the request that created it, and
 * a request awaiting a promise another request created may not resume until
 * some later event wakes the isolate (or never, if that request is canceled).
 */
let cached: { source: string; keys: KeySet } | undefined;

export async function getKeySet(source: string): Promise<KeySet> {
  if (cached?.source === source) return cached.keys;
  // Concurrent first requests may each import (it is cheap); the first to finish is
  // kept, so every request then signs with and publishes the same objects. A bad key
  // set throws here, for every request, and is never cached.
  const keys = await importKeySet(source);
  if (cached?.source !== source) cached = { source, keys };
  return cached.keys;
}

async function importKeySet(source: string): Promise<KeySet> {
  const parsed = JSON.parse(source) as { keys?: JWK[] };
  if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new Error('SIGNING_KEYS has no keys');
  const all = await Promise.all(parsed.keys.map(importSigningKey));
  if (new Set(all.map((key) => key.kid)).size !== all.length) throw new Error('SIGNING_KEYS has a duplicate kid');
  const publicJwks = { keys: all.map((key) => key.publicJwk) };
  const jwks = createLocalJWKSet(publicJwks);
  // Every token this issuer signs names its key; one that does not is not ours to guess at.
  const verificationKey: JWTVerifyGetKey = (header, token) => {
    if (typeof header.kid !== 'string') throw new errors.JWKSNoMatchingKey();
    return jwks(header, token);
  };
  // jose imports each public key on first use and keeps the pending import for
  // the next caller; settle them all now, so no request ever awaits an import
  // that another request started (workerd ties a promise to its request).
  await Promise.all(all.map(({ kid, alg }) => jwks({ kid, alg })));
  return { signing: all[0]!, all, verificationKey, jwksJson: JSON.stringify(publicJwks) };
}

const isSigningAlg = (alg: unknown): alg is SigningAlg => alg === 'RS256' || alg === 'ES256';

async function importSigningKey(jwk: JWK): Promise<SigningKey> {
  const { kid, alg } = jwk;
  if (!kid) throw new Error('every signing key needs a kid');
  if (!isSigningAlg(alg)) throw new Error(`key ${kid}: alg must be RS256 or ES256`);
  if (!jwk.d) throw new Error(`key ${kid}: a private key is required`);
  const publicJwk: Record<string, string> = { kid, alg, use: 'sig' };
  for (const member of PUBLIC_MEMBERS[alg]) {
    const value = (jwk as Record<string, unknown>)[member];
    if (typeof value !== 'string') throw new Error(`key ${kid}: ${member} is missing`);
    publicJwk[member] = value;
  }
  const privateKey = (await importJWK(jwk, alg)) as CryptoKey;
  return { kid, alg, privateKey, publicJwk };
}
