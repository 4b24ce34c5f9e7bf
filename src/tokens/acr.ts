/**
 * The authentication context of a login (OpenID Connect Core §2 `acr` and
 * `amr`, docs/protocol.md "Authentication context"): one `acr` per way in
 * ("door"), and the `amr` values of RFC 8176 style that say how that door
 * authenticates. A login stores its `amr` (sessions, codes and grants keep
 * it), and its `acr` is read back from it: each door's `amr` is its own.
 */
import type { AcrRequest } from '../types';

export type Door = 'miniprogram_approval' | 'app' | 'miniprogram' | 'officialaccount' | 'website';

export const ACR: Readonly<Record<Door, string>> = {
  // A browser's or a device's login approved in the mini program, on the person's phone.
  miniprogram_approval: 'urn:wechat:acr:miniprogram_approval',
  // A mobile app's OpenSDK SendAuth code, exchanged by the app (RFC 8693).
  app: 'urn:wechat:acr:app',
  // A mini program's wx.login code, exchanged by the mini program (RFC 8693).
  miniprogram: 'urn:wechat:acr:miniprogram',
  // An Official Account's web authorization, inside WeChat's browser.
  officialaccount: 'urn:wechat:acr:officialaccount',
  // A Website App's QR code, scanned and confirmed in WeChat on a phone.
  website: 'urn:wechat:acr:website',
};

/**
 * RFC 8176 §2 `mca` (multiple-channel authentication) where the browser or
 * device that logs in and the phone that confirms in WeChat are two channels;
 * the `wechat_*` value names the WeChat login that authenticated the person.
 */
const AMR: Readonly<Record<Door, readonly string[]>> = {
  miniprogram_approval: ['wechat_miniprogram', 'mca'],
  app: ['wechat_app'],
  miniprogram: ['wechat_miniprogram'],
  officialaccount: ['wechat_officialaccount'],
  website: ['wechat_website', 'mca'],
};

export const ACR_VALUES_SUPPORTED = Object.values(ACR);

export const amrOf = (door: Door): string[] => [...AMR[door]];

/** The `acr` of a login from its stored `amr`; none for a login recorded before doors had their own (`["wechat"]`). */
export function acrOf(amr: readonly string[]): string | undefined {
  const key = [...amr].sort().join(' ');
  const door = (Object.keys(AMR) as Door[]).find((candidate) => [...AMR[candidate]].sort().join(' ') === key);
  return door && ACR[door];
}

/** OpenID Connect Core §5.5.1.1: whether an `acr` meets an essential request (no values: any `acr` at all). */
export function meetsAcr(request: AcrRequest | undefined, acr: string | undefined): boolean {
  const essential = request?.essential;
  if (!essential) return true;
  return acr !== undefined && (essential.length === 0 || essential.includes(acr));
}
