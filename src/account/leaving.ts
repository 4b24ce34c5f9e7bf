/**
 * Leaving, and being removed (docs/protocol.md "Leaving"): the writes of
 * src/store/accounts.ts, then what relying parties and webhooks are told.
 * The person's own deletion and the admin API's go through the same function.
 */
import type { Bridge } from '../context';
import { announce, logOutRelyingParties } from '../notify/outbox';
import { deleteUser, revokeClientOfUser, revokeUser, type GrantHolder } from '../store/accounts';
import type { AuditActor } from '../store/audit';

/** OpenID Connect Back-Channel Logout 1.0 §2.5: each relying party of a live grant, for the grant's session or, without one, every session. */
const logoutsOf = (userId: string, holders: readonly GrantHolder[]) =>
  holders.map(({ clientId, sid }) => ({ clientId, userId, ...(sid !== null && { sid }) }));

/** Deletes the user and everything naming them; false when there was no such user. */
export async function deleteAccount(bridge: Bridge, userId: string, actor: Extract<AuditActor, 'user' | 'admin'>): Promise<boolean> {
  const { deleted, holders } = await deleteUser(bridge.db, userId, actor, bridge.now);
  if (!deleted) return false;
  logOutRelyingParties(bridge, logoutsOf(userId, holders));
  announce(bridge, [{ type: 'user.deleted', at: bridge.now, data: { sub: userId, by: actor } }]);
  return true;
}

/** Revokes every grant and ends every session of the user (the admin API); undefined when there is no such user. */
export async function revokeAccount(bridge: Bridge, userId: string): Promise<{ grants: number; sessions: number } | undefined> {
  const { found, grants, sessions, holders } = await revokeUser(bridge.db, userId, bridge.now);
  if (!found) return undefined;
  logOutRelyingParties(bridge, logoutsOf(userId, holders));
  return { grants, sessions };
}

/** The person withdraws one client; the number of grants revoked. */
export async function revokeClient(bridge: Bridge, userId: string, clientId: string): Promise<number> {
  const { grants, holders } = await revokeClientOfUser(bridge.db, userId, clientId, bridge.now);
  logOutRelyingParties(bridge, logoutsOf(userId, holders));
  return grants;
}
