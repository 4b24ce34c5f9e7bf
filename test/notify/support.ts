/** Running the deliveries queue's consumer as the Queues runtime does, and catching what it POSTs. */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { vi } from 'vitest';
import type { Env } from '../../src/config';
import dev from '../../src/dev';

export const DELIVERIES_QUEUE = 'wechat-oidc-bridge-deliveries';
export const DEAD_LETTERS_QUEUE = 'wechat-oidc-bridge-deliveries-failed';

export interface Queued {
  body: unknown;
  /** Stable across the retries of one message, as the runtime keeps it. */
  id?: string;
  attempts?: number;
}

export interface QueueOutcome {
  acked: string[];
  retried: { msgId: string; delaySeconds: number | undefined }[];
}

/** One batch through the development entry's `queue` handler: which messages it acked and which it retried, after how long. */
export async function runQueue(queue: string, messages: readonly Queued[], bindings: Env = env): Promise<QueueOutcome> {
  const batch = createMessageBatch(
    queue,
    messages.map((message, index) => ({ id: message.id ?? `message-${index}`, timestamp: new Date(), attempts: message.attempts ?? 1, body: message.body })),
  );
  // getQueueResult reports which messages were retried, not after how long: the delay is read where it is given.
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options) => {
      delays.set(message.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await dev.queue(batch, bindings);
  const result = await getQueueResult(batch, ctx);
  return { acked: result.explicitAcks, retried: result.retryMessages.map(({ msgId }: { msgId: string }) => ({ msgId, delaySeconds: delays.get(msgId) })) };
}

/** An env whose deliveries queue only records what is sent to it. */
export function recordingQueue(bindings: Partial<Env> = {}) {
  const sent: unknown[] = [];
  const queue = {
    send: async (body: unknown) => void sent.push(body),
    sendBatch: async (batch: Iterable<MessageSendRequest<unknown>>) => void sent.push(...[...batch].map((message) => message.body)),
  } as unknown as Queue<unknown>;
  return { env: { ...env, ...bindings, DELIVERIES: queue } as Env, sent };
}

/**
 * An env whose deliveries queue fails every send: by throwing where it is
 * called (`throws`), by the promise it returns (`rejects`), or by never
 * answering (`hangs`).
 */
export function failingQueue(how: 'throws' | 'rejects' | 'hangs', bindings: Partial<Env> = {}) {
  let attempts = 0;
  const fail = () => {
    attempts++;
    const error = new Error('Queue send failed: the deliveries queue is down');
    if (how === 'throws') throw error;
    return how === 'rejects' ? Promise.reject(error) : new Promise<never>(() => undefined);
  };
  const queue = { send: fail, sendBatch: fail } as unknown as Queue<unknown>;
  return { env: { ...env, ...bindings, DELIVERIES: queue } as Env, attempts: () => attempts };
}

export interface Posted {
  url: string;
  headers: Headers;
  body: string;
}

/**
 * Outbound fetches to `origins` answered by `answer` (and recorded); any
 * other fetch goes out as usual. The consumer runs in the tests' isolate,
 * so this catches what it sends.
 */
export function receiver(origins: string | readonly string[], answer: (posted: Posted) => Response | Promise<Response> = () => new Response(null, { status: 200 })) {
  const posted: Posted[] = [];
  const original = globalThis.fetch;
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (![origins].flat().some((origin) => request.url.startsWith(origin))) return original(input, init);
    const received = { url: request.url, headers: request.headers, body: new TextDecoder().decode(await request.arrayBuffer()) };
    posted.push(received);
    return answer(received);
  });
  return { posted, restore: () => spy.mockRestore() };
}
