/**
 * Signing keys (docs/protocol.md §2, docs/keys.md): a private JWKS from
 * configuration, newest key first, with keys of two algorithms. ID tokens
 * and logout tokens are signed RS256, the algorithm every relying party
 * accepts (OpenID Connect Core §15.1, Discovery §3); access tokens, which
 * only this issuer and resource servers that read the JWKS verify (RFC 9068
 * §4), are signed ES256, about half the CPU of an RSA signature, or RS256
 * when the set holds no active ES256 key.
 *
 * Each algorithm rotates on its own. A key may carry `nbf`, the time (epoch
 * seconds) from which it signs; until then it is only published, so relying
 * parties that cache the JWKS know it before any token names it. At each
 * moment the newest key of each algorithm whose `nbf` has passed signs for
 * that algorithm (a key without one always may). A key a newer key of its
 * own algorithm has taken over from stays published until every token it
 * signed has expired, then drops out of the JWKS.
 *
 * Keys are imported once per isolate (see `cached`); what changes with time is
 * precomputed as phases, each with its own serialized JWKS, so a request only
 * picks its phase.
 */
import { JWKSNoMatchingKey } from 'jose/errors';
import { importJWK } from 'jose/key/import';
import type { JWK, JWTVerifyGetKey } from 'jose';

export type SigningAlg = 'RS256' | 'ES256';

/** ID tokens and logout tokens: what OpenID Connect Discovery §3 makes every relying party accept. */
export const ID_TOKEN_ALG = 'RS256';
/** Access tokens, when the set has an active key of it; else ID_TOKEN_ALG. */
const ACCESS_TOKEN_ALG = 'ES256';

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** From when (epoch seconds) the key signs; undefined: always. */
  notBefore?: number;
}

/** The keys as they stand at one moment (the request's `now`). */
export interface KeySet {
  /** The newest active RS256 key: it signs ID tokens and logout tokens. */
  idTokens: SigningKey;
  /** The newest active ES256 key, or `idTokens` when there is none: it signs access tokens. */
  accessTokens: SigningKey;
  /** The keys of the JWKS: pending ones, the signing ones, retired ones whose tokens may still be alive. */
  published: readonly SigningKey[];
  /**
   * Finds the key of a token this issuer signed, by its header's `kid`, among
   * every configured key (a token's expiry, not its key's age, decides whether
   * it is still good), for jose's jwtVerify. The header's `alg` must be the
   * key's own: a token that names a key with another algorithm is refused.
   */
  verificationKey: JWTVerifyGetKey;
  /** The public JWKS document of this phase, serialized once. */
  jwksJson: string;
}

/** A configured key set, imported; `at(now)` is a lookup, never a rebuild. */
export interface KeyRing {
  keys: readonly SigningKey[];
  at(now: number): KeySet;
}

/**
 * How long after a key stops signing it stays published, past the lifetime
 * of the tokens it signed: relying parties' clocks may run this far behind.
 */
export const CLOCK_SKEW = 300;

interface Timed {
  alg: string;
  notBefore?: number;
}

/**
 * Until when key `index` of a newest-first list is published: the lifetime
 * of its last tokens (`retention`) past the moment a newer key of its own
 * algorithm took over. A key superseded by a newer key without `nbf` was
 * retired at an unknown time: it stays until removed by hand.
 */
export function publishedUntil(keys: readonly Timed[], index: number, retention: number): number {
  const { alg } = keys[index]!;
  const successors = keys.slice(0, index).filter((key) => key.alg === alg);
  const takenOver = Math.min(...successors.map((key) => key.notBefore ?? -Infinity));
  return Number.isFinite(takenOver) ? takenOver + retention : Infinity;
}

/** Which key signs for each algorithm at `now` (its newest active one), and which keys are published. */
export function keysAt<K extends Timed>(keys: readonly K[], retention: number, now: number): { signing: Partial<Record<string, K>>; published: K[] } {
  const signing: Partial<Record<string, K>> = {};
  for (const key of keys) if ((key.notBefore ?? -Infinity) <= now) signing[key.alg] ??= key;
  return { signing, published: keys.filter((_, index) => now < publishedUntil(keys, index, retention)) };
}

/**
 * The moments at which `keysAt` changes (a key's activation, a key's last
 * published second), ascending, after -Infinity: between two of them, the
 * answer is that of the first.
 */
export function phaseStarts(keys: readonly Timed[], retention: number): number[] {
  const moments = keys.flatMap((key, index) => [key.notBefore ?? -Infinity, publishedUntil(keys, index, retention)]);
  return [-Infinity, ...new Set(moments.filter(Number.isFinite))].sort((a, b) => a - b);
}

/**
 * The imported key ring of one SIGNING_KEYS value (and token lifetime), kept
 * once settled. Never a pending promise: workerd ties a promise to the request
 * that created it, and a request awaiting a promise another request created
 * may not resume until some later event wakes the isolate (or never, if that
 * request is canceled).
 */
let cached: { source: string; tokenLifetime: number; ring: KeyRing } | undefined;

/**
 * `tokenLifetime`: the longest lifetime (seconds) of a token this issuer
 * signs; a retired key stays published that long, and CLOCK_SKEW more.
 */
export async function getKeyRing(source: string, tokenLifetime: number): Promise<KeyRing> {
  if (cached?.source === source && cached.tokenLifetime === tokenLifetime) return cached.ring;
  // Concurrent first requests may each import (it is cheap); the first to finish is
  // kept, so every request then signs with and publishes the same objects. A bad key
  // set throws here, for every request, and is never cached.
  const ring = await importKeyRing(source, tokenLifetime + CLOCK_SKEW, Math.floor(Date.now() / 1000));
  if (cached?.source !== source || cached.tokenLifetime !== tokenLifetime) cached = { source, tokenLifetime, ring };
  return cached.ring;
}

async function importKeyRing(source: string, retention: number, now: number): Promise<KeyRing> {
  const parsed = JSON.parse(source) as { keys?: JWK[] };
  if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new Error('SIGNING_KEYS has no keys');
  const keys = await Promise.all(parsed.keys.map(importSigningKey));
  if (new Set(keys.map((key) => key.kid)).size !== keys.length) throw new Error('SIGNING_KEYS has a duplicate kid');
  if (!keys.some((key) => key.alg === ID_TOKEN_ALG)) {
    throw new Error(`SIGNING_KEYS has no ${ID_TOKEN_ALG} key: ID tokens are signed ${ID_TOKEN_ALG}, add one (npm run keys -- --rotate --alg ${ID_TOKEN_ALG})`);
  }
  // Keys only ever become active, so a set with an ID token signer now has one for good.
  if (!keysAt(keys, retention, now).signing[ID_TOKEN_ALG]) {
    throw new Error(`SIGNING_KEYS has no ${ID_TOKEN_ALG} key active now: every ${ID_TOKEN_ALG} key's nbf is in the future`);
  }
  // Every token this issuer signs names its key, and the key's algorithm is the only one it is checked with.
  const publicKeys = new Map(await Promise.all(keys.map(async ({ kid, alg, publicJwk }) => [kid, { alg, key: (await importJWK(publicJwk, alg)) as CryptoKey }] as const)));
  const verificationKey: JWTVerifyGetKey = (header) => {
    const found = typeof header.kid === 'string' ? publicKeys.get(header.kid) : undefined;
    if (!found || found.alg !== header.alg) throw new JWKSNoMatchingKey();
    return found.key;
  };

  const phases = phaseStarts(keys, retention).map((from) => {
    const { signing, published } = keysAt(keys, retention, from);
    const idTokens = signing[ID_TOKEN_ALG];
    const keySet = idTokens && {
      idTokens,
      accessTokens: signing[ACCESS_TOKEN_ALG] ?? idTokens,
      published,
      verificationKey,
      jwksJson: JSON.stringify({ keys: published.map((key) => key.publicJwk) }),
    };
    return { from, keySet };
  });
  return {
    keys,
    at(now) {
      let index = phases.length - 1;
      while (phases[index]!.from > now) index--;
      const { keySet } = phases[index]!;
      // Only before the set's first RS256 activation, which the check above puts in the past.
      if (!keySet) throw new Error(`SIGNING_KEYS has no ${ID_TOKEN_ALG} key active at ${now}`);
      return keySet;
    },
  };
}

const isSigningAlg = (alg: unknown): alg is SigningAlg => alg === 'RS256' || alg === 'ES256';

const PUBLIC_MEMBERS: Record<SigningAlg, readonly string[]> = {
  RS256: ['kty', 'n', 'e'],
  ES256: ['kty', 'crv', 'x', 'y'],
};

async function importSigningKey(jwk: JWK & { nbf?: unknown }): Promise<SigningKey> {
  const { kid, alg, nbf } = jwk;
  if (!kid) throw new Error('every signing key needs a kid');
  if (!isSigningAlg(alg)) throw new Error(`key ${kid}: alg must be RS256 or ES256`);
  if (!jwk.d) throw new Error(`key ${kid}: a private key is required`);
  if (nbf !== undefined && !(Number.isSafeInteger(nbf) && (nbf as number) >= 0)) {
    throw new Error(`key ${kid}: nbf must be a time in whole seconds since the epoch`);
  }
  // Only these members are published: never `d` and the other private parts, nor `nbf`.
  const publicJwk: Record<string, string> = { kid, alg, use: 'sig' };
  for (const member of PUBLIC_MEMBERS[alg]) {
    const value = (jwk as Record<string, unknown>)[member];
    if (typeof value !== 'string') throw new Error(`key ${kid}: ${member} is missing`);
    publicJwk[member] = value;
  }
  const privateKey = (await importJWK(jwk, alg)) as CryptoKey;
  return { kid, alg, privateKey, publicJwk, ...(nbf !== undefined && { notBefore: nbf as number }) };
}
