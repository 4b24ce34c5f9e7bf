/**
 * The authentication context of a login (OpenID Connect Core §2 `acr` and
 * `amr`, docs/protocol.md "Authentication context"): one `acr` per way in
 * ("door"), and the `amr` values of RFC 8176 style that say how that door
 * authenticates. A login stores its `amr` (sessions, codes and grants keep
 * it), and its `acr` is read back from it: each door's `amr` is its own.
 */
import type { AcrRequest } from '../types';

export type Door = 'miniprogram_approval' | 'app' | 'miniprogram' | 'officialaccount' | 'website';

/**
 * The doors, each `urn:wechat:acr:<door>`: a browser's or a device's login
 * approved in the mini program on the person's phone; a mobile app's OpenSDK
 * SendAuth code and a mini program's wx.login code, each exchanged by the app
 * itself (RFC 8693); an Official Account's web authorization inside WeChat's
 * browser; a Website App's QR code, scanned and confirmed in WeChat on a phone.
 */
const DOORS: readonly Door[] = ['miniprogram_approval', 'app', 'miniprogram', 'officialaccount', 'website'];

export const ACR = Object.fromEntries(DOORS.map((door) => [door, `urn:wechat:acr:${door}`])) as Readonly<Record<Door, string>>;

export const ACR_VALUES_SUPPORTED = Object.values(ACR);

/**
 * The `wechat_*` value names the WeChat login that authenticated the person;
 * RFC 8176 §2 `mca` (multiple-channel authentication) is added where the
 * browser or device that logs in and the phone that confirms in WeChat are
 * two channels.
 */
export const amrOf = (door: Door): string[] =>
  door === 'miniprogram_approval' ? ['wechat_miniprogram', 'mca'] : door === 'website' ? ['wechat_website', 'mca'] : [`wechat_${door}`];

/** The `acr` of a login from its stored `amr`; none for a login recorded before doors had their own (`["wechat"]`). */
export function acrOf(amr: readonly string[]): string | undefined {
  const door = DOORS.find((candidate) => amrOf(candidate).join(' ') === amr.join(' '));
  return door && ACR[door];
}

/** OpenID Connect Core §5.5.1.1: whether an `acr` meets an essential request (no values: any `acr` at all). */
export function meetsAcr(request: AcrRequest | undefined, acr: string | undefined): boolean {
  const essential = request?.essential;
  if (!essential) return true;
  return acr !== undefined && (essential.length === 0 || essential.includes(acr));
}
