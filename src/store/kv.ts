/**
 * JSON values in KV, each with its own expiry. KV is eventually consistent,
 * so nothing read here is trusted to be used only once: that guard is D1's
 * (src/store/single-use.ts).
 */

/** KV's shortest expirationTtl. */
export const KV_MIN_TTL = 60;

export async function putExpiring<T extends { expiresAt: number }>(kv: KVNamespace, key: string, value: T, now: number): Promise<void> {
  await kv.put(key, JSON.stringify(value), { expirationTtl: Math.max(KV_MIN_TTL, value.expiresAt - now) });
}

/** The value, unless absent or past its own expiry (KV may keep it up to a minute longer). */
export async function getUnexpired<T extends { expiresAt: number }>(kv: KVNamespace, key: string, now: number): Promise<T | undefined> {
  const value = await kv.get<T>(key, 'json');
  return value && value.expiresAt > now ? value : undefined;
}
