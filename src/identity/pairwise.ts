/**
 * Pairwise subject identifiers (OpenID Connect Core §8.1). A client
 * registered with `subject_type=pairwise` sees each user under a `sub` of its
 * own: an HMAC of the user's id and the client's sector under the bridge's
 * `PAIRWISE_SECRET`. No other sector can compute or correlate it, and it
 * depends on neither the signing keys nor anything that changes after
 * registration, so it is stable across key rotations.
 */
import { base64url } from '../crypto';
import type { ClientMetadata } from '../types';

const encoder = new TextEncoder();

/** The metadata that decides which `sub` a client sees. */
export type SubjectMetadata = Pick<ClientMetadata, 'subject_type' | 'redirect_uris'>;

/**
 * OpenID Connect Core §8.1: the host of the registered redirect URIs. Without
 * an https redirect URI (a device, a token exchange, a native app on a custom
 * scheme or the loopback), every such client would share one host, so the
 * client is a sector of its own. Registration refuses a pairwise client
 * whose https redirect URIs have several hosts (the bridge takes no
 * `sector_identifier_uri`).
 */
export function sectorIdentifier(clientId: string, metadata: Pick<ClientMetadata, 'redirect_uris'>): string {
  const hosts = new Set(metadata.redirect_uris.filter((uri) => uri.startsWith('https:')).map((uri) => new URL(uri).host));
  return hosts.size === 1 ? `host:${[...hosts][0]}` : `client:${clientId}`;
}

/**
 * The HMAC key of one PAIRWISE_SECRET, imported once per isolate and kept
 * once settled (never a pending promise, see src/tokens/keys.ts).
 */
let cached: { secret: string; key: CryptoKey } | undefined;

async function pairwiseKey(secret: string): Promise<CryptoKey> {
  if (cached?.secret === secret) return cached.key;
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  cached = { secret, key };
  return key;
}

/** The `sub` a client sees for a user: the user's id for public clients, the pairwise identifier otherwise. */
export async function subjectFor(secret: string, client: { clientId: string; metadata: SubjectMetadata }, userId: string): Promise<string> {
  if (client.metadata.subject_type !== 'pairwise') return userId;
  const sector = sectorIdentifier(client.clientId, client.metadata);
  const mac = await crypto.subtle.sign('HMAC', await pairwiseKey(secret), encoder.encode(`${sector}\n${userId}`));
  return base64url(new Uint8Array(mac));
}
