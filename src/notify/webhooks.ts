/**
 * Webhooks as Standard Webhooks sends them (docs/protocol.md §10): a JSON
 * body `{type, timestamp, data}`, and the headers `webhook-id` (the same on
 * every retry of one delivery, so a receiver can drop duplicates),
 * `webhook-timestamp` (of this attempt, so a receiver can refuse old ones)
 * and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`
 * keyed with the secret's decoded bytes.
 */
import type { WebhookSubscription } from '../config';
import { sha256 } from '../crypto';
import type { LifeEvent } from './outbox';

const encoder = new TextEncoder();

/** The receivers of an event: those subscribed to its type. */
export const subscribersOf = (subscriptions: readonly WebhookSubscription[], event: LifeEvent) =>
  subscriptions.filter((subscription) => subscription.events.includes(event.type));

/** The body of every delivery of an event: the same bytes on every retry, so the id names one payload. */
export const webhookBody = (event: LifeEvent) =>
  JSON.stringify({ type: event.type, timestamp: new Date(event.at * 1000).toISOString(), data: event.data });

/**
 * A delivery's `webhook-id`: from the queued event's own id and the
 * receiver, so fanning the same event out again (after a failed fan-out)
 * gives each receiver the id it may have seen already.
 */
export const webhookId = async (eventMessageId: string, url: string) => `msg_${await sha256(`webhook-id\n${eventMessageId}\n${url}`)}`;

/**
 * The HMAC keys of the secrets, imported once per isolate and kept once
 * settled (never a pending promise: workerd ties a promise to the request,
 * or here the batch, that made it).
 */
const keys = new Map<string, CryptoKey>();

async function hmacKey(secret: string): Promise<CryptoKey> {
  const cached = keys.get(secret);
  if (cached) return cached;
  const raw = Uint8Array.from(atob(secret.slice('whsec_'.length)), (char) => char.charCodeAt(0));
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  keys.set(secret, key);
  return key;
}

/** The Standard Webhooks headers of one attempt. */
export async function webhookHeaders(secret: string, id: string, timestamp: number, body: string): Promise<Record<string, string>> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(`${id}.${timestamp}.${body}`)));
  return {
    'Content-Type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${btoa(String.fromCharCode(...mac))}`,
  };
}
