/**
 * What the bridge tells others after the fact (docs/protocol.md §10):
 * life-cycle events for webhooks, and logouts for relying parties'
 * back-channel. Both leave through the DELIVERIES queue, sent after the
 * response (`defer`), so a slow or failing receiver never delays or fails a
 * login or a logout.
 */
import type { LifeEventType } from '../config';
import type { Bridge } from '../context';

// Defined with the configuration, which validates the events a webhook subscribes to.
export { LIFE_EVENTS, type LifeEventType } from '../config';

/** A life-cycle event: its type, and facts that name no secret (the user's public `sub`, the client, the door). */
export interface LifeEvent {
  type: LifeEventType;
  /** Seconds since the epoch. */
  at: number;
  data: Record<string, string | boolean>;
}

/** One relying party to tell that a user's session, or every session, has ended (Back-Channel Logout 1.0 §2.5). */
export interface RelyingPartyLogout {
  clientId: string;
  /** The user's id (the public `sub`); the logout token carries the `sub` the client sees. */
  userId: string;
  /** The session that ended, when one did (RP-initiated logout); absent, every session of the user. */
  sid?: string;
}

export type Delivery = { kind: 'event'; event: LifeEvent } | { kind: 'logout'; logout: RelyingPartyLogout };

/**
 * Queues life-cycle events for the webhooks, after the response: only the
 * events some receiver subscribes to (with no WEBHOOKS, none). A queued
 * message costs a queue write and a consumer run, so one nobody would hear
 * of is not sent. The consumer checks the subscriptions again when it fans
 * out, as they may have changed by then.
 */
export function announce(bridge: Bridge, events: readonly LifeEvent[]): void {
  const heard = events.filter((event) => bridge.config.webhooks.some((webhook) => webhook.events.includes(event.type)));
  send(bridge, heard.map((event) => ({ kind: 'event', event })));
}

/** Queues back-channel logouts, after the response. */
export function logOutRelyingParties(bridge: Bridge, logouts: readonly RelyingPartyLogout[]): void {
  send(bridge, logouts.map((logout) => ({ kind: 'logout', logout })));
}

function send(bridge: Bridge, deliveries: Delivery[]): void {
  if (deliveries.length === 0) return;
  // Called in an async function: a binding that throws where it is called fails the delivery only, as one whose promise rejects does.
  const queued = async () => bridge.env.DELIVERIES.sendBatch(deliveries.map((body) => ({ body, contentType: 'json' })));
  bridge.defer(queued());
}
