/** Small primitives: random identifiers, hashes, constant-time comparison. */

const encoder = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A random identifier with `bytes` of entropy, base64url (no padding). */
export function randomId(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function sha256(value: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value))));
}

/**
 * Compares two secrets without leaking where they differ: both are hashed
 * first, so the comparison is over equal lengths whatever the inputs.
 */
export async function timingSafeEqualStrings(a: string, b: string): Promise<boolean> {
  const [left, right] = await Promise.all(
    [a, b].map(async (value) => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value)))),
  );
  return crypto.subtle.timingSafeEqual(left!, right!);
}

/** Compares a presented secret with a stored SHA-256 hash (base64url) in constant time. */
export async function matchesHash(presented: string, storedHash: string): Promise<boolean> {
  const hash = encoder.encode(await sha256(presented));
  const stored = encoder.encode(storedHash);
  return hash.byteLength === stored.byteLength && crypto.subtle.timingSafeEqual(hash, stored);
}
