/**
 * Which ways in ("doors") a login offers, as pure functions of the
 * configuration, the client, where the person is, and the authentication
 * context the request asked for (docs/protocol.md "Authentication context"):
 * a door that cannot give an essential `acr` is not offered, and a preferred
 * `acr`'s door comes first.
 */
import type { Config, WeChatKind } from '../config';
import { ACR, meetsAcr, type Door } from '../tokens/acr';
import type { AcrRequest, Client } from '../types';
import { loginApp } from './wechat-apps';

/** OpenID Connect Core §5.5.1.1 (and the errata's §3.1.2.6 error): an essential acr that no door here gives. */
export const UNMET = { error: 'unmet_authentication_requirements', error_description: 'the essential acr cannot be met' };

export type BrowserDoor = Extract<Door, 'miniprogram_approval' | 'officialaccount' | 'website'>;

/** The kind of WeChat app behind each door of a browser's (or device's) login, in the login page's usual order. */
const KIND: Readonly<Record<BrowserDoor, WeChatKind>> = { officialaccount: 'officialaccount', miniprogram_approval: 'miniprogram', website: 'website' };
const BROWSER_DOORS = Object.keys(KIND) as BrowserDoor[];

/** The door of a login a WeChat app of `kind` answered: a mini program's answer is its approval. */
export const approvalDoor = (kind: string): BrowserDoor => (kind === 'officialaccount' || kind === 'website' ? kind : 'miniprogram_approval');

/** Whether any door of this client's browser logins could give the essential `acr` (if not, the request fails at once). */
export function canMeetAcr(config: Config, client: Client, acr: AcrRequest | undefined): boolean {
  return !acr?.essential || BROWSER_DOORS.some((door) => loginApp(config, client, KIND[door]) !== undefined && meetsAcr(acr, ACR[door]));
}

export interface Whereabouts {
  /** A browser's login (a device's has only the mini program). */
  browser: boolean;
  /** In WeChat's built-in browser: the Official Account's door. */
  inWeChat: boolean;
  /** On a phone: no QR code on its own screen can be scanned. */
  onMobile: boolean;
}

/** The doors to offer, first the one to lead with; empty when none is configured or none meets an essential acr. */
export function loginDoors(config: Config, client: Client, where: Whereabouts, acr: AcrRequest | undefined): BrowserDoor[] {
  const usable: Record<BrowserDoor, boolean> = {
    officialaccount: where.browser && where.inWeChat,
    miniprogram_approval: true,
    website: where.browser && !where.onMobile,
  };
  const offered = BROWSER_DOORS.filter((door) => usable[door] && loginApp(config, client, KIND[door]) && meetsAcr(acr, ACR[door]));
  return orderDoors(offered, acr?.preferred);
}

/** `doors` with those whose acr is preferred first, most preferred first; the rest keep their order. */
export function orderDoors(doors: readonly BrowserDoor[], preferred: readonly string[] = []): BrowserDoor[] {
  const rank = (door: BrowserDoor) => {
    const index = preferred.indexOf(ACR[door]);
    return index === -1 ? preferred.length : index;
  };
  return [...doors].sort((a, b) => rank(a) - rank(b));
}
