/**
 * The deliveries queue's consumer (docs/protocol.md §10). A life-cycle event
 * fans out into one delivery per subscribed webhook, each queued on its own
 * so each receiver is retried on its own; a logout becomes one POST of a
 * logout token to the client's `backchannel_logout_uri`. A failed POST (no
 * answer within a few seconds, a network error, an answer that is not a
 * success) is retried with exponential backoff; after wrangler.toml's
 * `max_retries` the message lands in the dead-letter queue, whose consumer
 * records it in the audit log. Nothing here logs a secret, a token or a body.
 */
import { getConfig, type Config, type Env } from '../config';
import { keysAt } from '../context';
import { logSummary } from '../errors';
import { auditStatement, type AuditEntry } from '../store/audit';
import { findClient } from '../store/clients';
import { database, type Db } from '../store/db';
import { logoutToken } from './logout-token';
import type { Delivery, LifeEvent, RelyingPartyLogout } from './outbox';
import { subscribersOf, webhookBody, webhookHeaders, webhookId } from './webhooks';

/** wrangler.toml's dead-letter queue of the deliveries queue: its messages are final failures. */
export const DEAD_LETTER_QUEUE = 'wechat-oidc-bridge-deliveries-failed';

/** One POST may take this long: a receiver that hangs is a failed attempt, retried later. */
export const DELIVERY_TIMEOUT_MS = 5000;

/** A webhook on its way to one receiver: the body is fixed at the fan-out, the secret looked up by URL at each attempt. */
export interface WebhookDelivery {
  kind: 'webhook';
  id: string;
  url: string;
  type: LifeEvent['type'];
  body: string;
}

export type QueuedDelivery = Delivery | WebhookDelivery;

/**
 * Seconds before the next attempt: 30 s doubling with each attempt
 * (`attempts` counts from 1), at most an hour. With wrangler.toml's 8
 * retries, a receiver has about two hours to come back.
 */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}

/** Logout tokens: 200 OK, or the 204 some frameworks answer instead (Back-Channel Logout 1.0 §2.8). Webhooks: any 2xx. */
export const delivered = (kind: 'logout' | 'webhook', status: number) =>
  kind === 'logout' ? status === 200 || status === 204 : status >= 200 && status < 300;

interface Consumer {
  config: Config;
  env: Env;
  db: Db;
  now: number;
}

export async function deliver(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const consumer: Consumer = { config: getConfig(env), env, db: database(env.DB), now: Math.floor(Date.now() / 1000) };
  if (batch.queue === DEAD_LETTER_QUEUE) return recordFailures(consumer, batch.messages);
  await Promise.all(
    batch.messages.map(async (message) => {
      if ((await attempt(consumer, message)) === 'done') message.ack();
      else message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }),
  );
}

type Outcome = 'done' | 'retry';

async function attempt(consumer: Consumer, message: Message<unknown>): Promise<Outcome> {
  const delivery = message.body as QueuedDelivery;
  try {
    switch (delivery?.kind) {
      case 'event':
        return await fanOut(consumer, message.id, delivery.event);
      case 'webhook':
        return await sendWebhook(consumer, delivery);
      case 'logout':
        return await sendLogout(consumer, delivery.logout);
      default:
        // Not a message this bridge queued: retrying would not make it one.
        console.error('deliveries: dropped a message of unknown kind');
        return 'done';
    }
  } catch (error) {
    console.error(`deliveries: ${delivery?.kind} failed before sending: ${logSummary(error)}`);
    return 'retry';
  }
}

async function fanOut(consumer: Consumer, eventMessageId: string, event: LifeEvent): Promise<Outcome> {
  const receivers = subscribersOf(consumer.config.webhooks, event);
  if (receivers.length === 0) return 'done';
  const body = webhookBody(event);
  const deliveries = await Promise.all(
    receivers.map(async ({ url }): Promise<WebhookDelivery> => ({ kind: 'webhook', id: await webhookId(eventMessageId, url), url, type: event.type, body })),
  );
  await consumer.env.DELIVERIES.sendBatch(deliveries.map((body) => ({ body, contentType: 'json' })));
  return 'done';
}

async function sendWebhook(consumer: Consumer, delivery: WebhookDelivery): Promise<Outcome> {
  // Unsubscribed since it was queued: nobody to tell.
  const subscription = consumer.config.webhooks.find((candidate) => candidate.url === delivery.url);
  if (!subscription) return 'done';
  const headers = await webhookHeaders(subscription.secret, delivery.id, Math.floor(Date.now() / 1000), delivery.body);
  return post('webhook', delivery.url, headers, delivery.body);
}

async function sendLogout(consumer: Consumer, logout: RelyingPartyLogout): Promise<Outcome> {
  const client = await findClient(consumer.db, logout.clientId);
  const uri = client?.metadata.backchannel_logout_uri;
  // Back-Channel Logout 1.0 §2.2: only a client that registered where to hear it is told.
  if (!client || !uri) return 'done';
  const now = Math.floor(Date.now() / 1000);
  const token = await logoutToken(consumer.config, await keysAt(consumer.env, consumer.config, now), client, logout, now);
  // §2.5: the token in a form POST.
  return post('logout', uri, { 'Content-Type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ logout_token: token }).toString());
}

async function post(kind: 'logout' | 'webhook', url: string, headers: Record<string, string>, body: string): Promise<Outcome> {
  const origin = new URL(url).origin;
  try {
    // A redirect is not followed: the receiver is the registered URL, nowhere else.
    const response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
    await response.body?.cancel();
    if (delivered(kind, response.status)) return 'done';
    console.warn(`deliveries: ${kind} to ${origin} answered ${response.status}`);
  } catch (error) {
    console.warn(`deliveries: ${kind} to ${origin} failed: ${error instanceof Error ? error.name : 'error'}`);
  }
  return 'retry';
}

/** Final failures, one audit row each: the kind and the receiver's origin, never a secret nor a body. */
async function recordFailures(consumer: Consumer, messages: readonly Message<unknown>[]): Promise<void> {
  const entries = await Promise.all(messages.map((message) => failureEntry(consumer, message.body as QueuedDelivery)));
  const [first, ...rest] = entries.map((entry) => auditStatement(consumer.db, entry, consumer.now));
  if (first) await consumer.db.batch([first, ...rest]);
  for (const message of messages) message.ack();
}

async function failureEntry(consumer: Consumer, delivery: QueuedDelivery): Promise<AuditEntry> {
  const row = { event: 'delivery.failed', actor: 'bridge' } as const;
  switch (delivery?.kind) {
    case 'webhook':
      return { ...row, detail: { kind: 'webhook', origin: new URL(delivery.url).origin, type: delivery.type } };
    case 'logout': {
      const { clientId, userId } = delivery.logout;
      const uri = (await findClient(consumer.db, clientId))?.metadata.backchannel_logout_uri;
      return { ...row, userId, clientId, detail: { kind: 'logout', ...(uri && { origin: new URL(uri).origin }) } };
    }
    case 'event':
      return { ...row, detail: { kind: 'event', type: delivery.event.type } };
    default:
      return { ...row, detail: { kind: 'unknown' } };
  }
}
