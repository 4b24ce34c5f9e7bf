/**
 * The ways into the mini program made for a pending login (docs/protocol.md
 * §5.2), kept in KV beside it so that WeChat makes each at most once per
 * login (WeChat caps both per day): `login_scheme:<id>`, the "open WeChat"
 * URL Scheme, and `login_qr:<id>`, the mini program code's PNG (some KB; a
 * KV value may be 25 MiB). Both end with the login.
 */
import { getUnexpired, KV_MIN_TTL, putExpiring } from './kv';

export async function getLoginScheme(kv: KVNamespace, loginId: string, now: number): Promise<string | undefined> {
  return (await getUnexpired<{ openlink: string; expiresAt: number }>(kv, `login_scheme:${loginId}`, now))?.openlink;
}

/** `expiresAt`: the earlier of the login's expiry and the scheme's own. */
export const putLoginScheme = (kv: KVNamespace, loginId: string, openlink: string, expiresAt: number, now: number) =>
  putExpiring(kv, `login_scheme:${loginId}`, { openlink, expiresAt }, now);

/** Read only for a live login: KV may keep the image up to a minute past the login's expiry. */
export async function getLoginCode(kv: KVNamespace, loginId: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const png = await kv.get(`login_qr:${loginId}`, 'arrayBuffer');
  return png ? new Uint8Array(png) : undefined;
}

export const putLoginCode = (kv: KVNamespace, loginId: string, png: Uint8Array<ArrayBuffer>, expiresAt: number, now: number) =>
  kv.put(`login_qr:${loginId}`, png, { expirationTtl: Math.max(KV_MIN_TTL, expiresAt - now) });
