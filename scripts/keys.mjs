// Signing keys for the provider: a private JWKS, newest key first (docs/protocol.md §2,
// docs/keys.md). RS256 keys sign ID tokens, ES256 keys access tokens; each algorithm
// rotates on its own. A key's `nbf` (epoch seconds) is when it starts to sign.
import { exportJWK, generateKeyPair } from 'jose';

/**
 * How long a retired key stays published after a newer key took over: the
 * longest lifetime of a token the provider signs (access and ID tokens, one
 * hour) and src/tokens/keys.ts's CLOCK_SKEW. The provider computes the same;
 * a test holds the two together.
 */
export const RETENTION = 3600 + 300;

/** A new private JWK with `kid`, `alg` and `use`, ready to publish. */
export async function generateSigningKey(alg = 'RS256') {
  if (alg !== 'RS256' && alg !== 'ES256') throw new Error(`unsupported alg ${alg}: use RS256 or ES256`);
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
  const random = crypto.getRandomValues(new Uint8Array(4));
  const kid = `${stamp}-${alg.toLowerCase()}-${Buffer.from(random).toString('hex')}`;
  return { kid, alg, use: 'sig', ...jwk };
}

export const ALGS = ['RS256', 'ES256'];

/** A new set, as a deployment starts: one key of each algorithm, both signing at once. */
export async function newKeySet() {
  return { keys: await Promise.all(ALGS.map((alg) => generateSigningKey(alg))) };
}

/** Why the provider would refuse the set for want of an RS256 key (src/tokens/keys.ts), or undefined. */
export function missingIdTokenKey(jwks) {
  if (jwks.keys.some((key) => key.alg === 'RS256')) return undefined;
  return 'the key set has no RS256 key, and ID tokens are signed RS256: add one with --rotate --alg RS256';
}

/**
 * Puts a new key of `alg` in front; the older keys stay published. In a set that has
 * keys, the new key signs from `notBefore` (epoch seconds, default now): its
 * `nbf` also tells the provider when the key of the same
 * algorithm before it retired. A new set's only key signs at once, without `nbf`.
 */
export async function rotate(jwks, alg, notBefore = Math.floor(Date.now() / 1000)) {
  const keys = jwks?.keys ?? [];
  const key = await generateSigningKey(alg);
  return { keys: [keys.length > 0 ? { ...key, nbf: notBefore } : key, ...keys] };
}

/**
 * The set without the keys the provider no longer publishes at `now`: those
 * a newer key of the same algorithm took over from longer than RETENTION ago
 * (src/tokens/keys.ts, `publishedUntil`). A key superseded by a key without
 * `nbf` is kept: when it retired is unknown.
 */
export function prune(jwks, now = Math.floor(Date.now() / 1000)) {
  const takenOver = new Map();
  const keys = jwks.keys.filter((key) => {
    const since = takenOver.get(key.alg) ?? Infinity;
    takenOver.set(key.alg, Math.min(since, key.nbf ?? -Infinity));
    return !Number.isFinite(since) || now < since + RETENTION;
  });
  return { ...jwks, keys };
}

const UNITS = { m: 60, h: 3600, d: 86400 };

/** `--in`: `0`, or a whole number of minutes, hours or days (`90m`, `24h`, `7d`), at most 365 days; in seconds. */
export function parseDelay(text) {
  const match = /^(?:0|([1-9]\d{0,5})([mhd]))$/.exec(text);
  const seconds = match?.[1] ? Number(match[1]) * UNITS[match[2]] : 0;
  if (!match || seconds > 365 * 86400) throw new Error(`--in ${JSON.stringify(text)}: give 0 or minutes, hours or days, like 90m, 24h, 7d (at most 365d)`);
  return seconds;
}
