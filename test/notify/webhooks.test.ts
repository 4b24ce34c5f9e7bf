/**
 * Webhooks (docs/protocol.md §10): signed as Standard Webhooks sign, fanned
 * out to the subscribed receivers only, each delivery retried on its own
 * with a growing delay, and acked once a receiver took it.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '../../src/config';
import dev from '../../src/dev';
import { retryDelaySeconds, type WebhookDelivery } from '../../src/notify/consumer';
import type { LifeEvent } from '../../src/notify/outbox';
import { webhookBody, webhookHeaders, webhookId } from '../../src/notify/webhooks';
import { authorizeUrl, Browser, REDIRECT_URI, startLogin, webClientMetadata } from '../support/browser';
import { APP_CODE, basic, ISSUER, mint, register, type TokenSet, uniqueId } from '../support/oidc';
import { DELIVERIES_QUEUE, failingQueue, receiver, recordingQueue, runQueue } from './support';

// The example of the Standard Webhooks specification.
const SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const secret = (fill: number) => `whsec_${btoa(String.fromCharCode(...new Uint8Array(32).fill(fill)))}`;
const HOOKS = [
  { url: 'https://hooks-a.example/in', secret: secret(1), events: ['user.created', 'login.succeeded'] },
  { url: 'https://hooks-b.example/in', secret: secret(2), events: ['user.deleted'] },
  { url: 'https://hooks-c.example/in', secret: secret(3), events: ['user.created'] },
];
const WEBHOOKS = JSON.stringify(HOOKS);

const created: LifeEvent = { type: 'user.created', at: 1_700_000_000, data: { sub: 'user-1', client_id: 'client-1' } };

/** An independent computation of the signature, with node:crypto. */
const expectedSignature = (key: string, id: string, timestamp: string, body: string) =>
  `v1,${createHmac('sha256', Buffer.from(key.slice('whsec_'.length), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

/** A token exchange of an app's `code` by `client`, as the client sends it. */
const tokenExchange = (client: { client_id: string; client_secret?: string }, minted: { code: string; appid: string }) =>
  new Request(`${ISSUER}/token`, {
    method: 'POST',
    headers: { Authorization: basic(client), 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: minted.code, subject_token_type: APP_CODE, wechat_appid: minted.appid, scope: 'openid' }),
  });

let restore: (() => void) | undefined;
afterEach(() => restore?.());

describe('webhook signatures (Standard Webhooks)', () => {
  it("match the specification's own example", async () => {
    const headers = await webhookHeaders(SPEC_SECRET, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('sign "<id>.<timestamp>.<body>" with the decoded secret, for any body', async () => {
    const body = webhookBody(created);
    const headers = await webhookHeaders(HOOKS[0]!.secret, 'msg_x', 1_700_000_123, body);
    expect(headers).toMatchObject({ 'webhook-id': 'msg_x', 'webhook-timestamp': '1700000123', 'Content-Type': 'application/json' });
    expect(headers['webhook-signature']).toBe(expectedSignature(HOOKS[0]!.secret, 'msg_x', '1700000123', body));
    expect(headers['webhook-signature']).not.toBe(expectedSignature(HOOKS[1]!.secret, 'msg_x', '1700000123', body));
  });

  it('carry {type, timestamp (RFC 3339), data} as the body', () => {
    expect(JSON.parse(webhookBody(created))).toEqual({ type: 'user.created', timestamp: '2023-11-14T22:13:20.000Z', data: created.data });
  });
});

describe('the fan-out of a life-cycle event', () => {
  it('queues one delivery per subscribed receiver, and acks the event', async () => {
    const { env, sent } = recordingQueue({ WEBHOOKS });
    const { acked, retried } = await runQueue(DELIVERIES_QUEUE, [{ id: 'event-1', body: { kind: 'event', event: created } }], env);
    expect(acked).toEqual(['event-1']);
    expect(retried).toEqual([]);
    const deliveries = sent as WebhookDelivery[];
    expect(deliveries.map((delivery) => delivery.url).sort()).toEqual(['https://hooks-a.example/in', 'https://hooks-c.example/in']);
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({ kind: 'webhook', type: 'user.created', body: webhookBody(created) });
      // The receiver's secret never travels through the queue.
      expect(JSON.stringify(delivery)).not.toContain(HOOKS[0]!.secret.slice(6));
    }
    expect(new Set(deliveries.map((delivery) => delivery.id)).size).toBe(2);
  });

  it('gives each receiver the same webhook-id when the same event is fanned out again', async () => {
    const { env, sent } = recordingQueue({ WEBHOOKS });
    await runQueue(DELIVERIES_QUEUE, [{ id: 'event-2', body: { kind: 'event', event: created } }], env);
    await runQueue(DELIVERIES_QUEUE, [{ id: 'event-2', body: { kind: 'event', event: created }, attempts: 2 }], env);
    const ids = (sent as WebhookDelivery[]).map((delivery) => `${delivery.url} ${delivery.id}`);
    expect(ids.slice(2).sort()).toEqual(ids.slice(0, 2).sort());
    expect((sent[0] as WebhookDelivery).id).toBe(await webhookId('event-2', (sent[0] as WebhookDelivery).url));
  });

  it('queues nothing for an event nobody subscribed to, or without WEBHOOKS', async () => {
    for (const bindings of [{ WEBHOOKS }, { WEBHOOKS: undefined }]) {
      const { env, sent } = recordingQueue(bindings);
      const event: LifeEvent = { type: 'user.linked', at: 1_700_000_000, data: { sub: 'user-1' } };
      const { acked } = await runQueue(DELIVERIES_QUEUE, [{ id: 'event-3', body: { kind: 'event', event } }], env);
      expect(acked).toEqual(['event-3']);
      expect(sent).toEqual([]);
    }
  });
});

describe('the events a login queues', () => {
  /** A new person's token exchange, served with `bindings`: what it handed the deliveries queue. */
  async function newPersonLogin(bindings: Partial<Env>) {
    const { env, sent } = recordingQueue(bindings);
    const client = await register();
    const minted = await mint({ kind: 'app', openid: uniqueId('o-'), unionid: uniqueId('u-') });
    const ctx = createExecutionContext();
    const response = await dev.fetch(tokenExchange(client, minted), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    return sent.map((delivery) => (delivery as { event: LifeEvent }).event.type);
  }

  it('are the events some receiver subscribes to, each once however many receivers hear it', async () => {
    expect(await newPersonLogin({ WEBHOOKS })).toEqual(['user.created', 'login.succeeded']);
    expect(await newPersonLogin({ WEBHOOKS: JSON.stringify([HOOKS[2]]) })).toEqual(['user.created']);
  });

  it('are none when no receiver subscribes to them, or without WEBHOOKS', async () => {
    expect(await newPersonLogin({ WEBHOOKS: JSON.stringify([HOOKS[1]]) })).toEqual([]);
    expect(await newPersonLogin({ WEBHOOKS: undefined })).toEqual([]);
  });
});

describe('a delivery never delays or fails a login', () => {
  /** One request through the development entry with `bindings`, its deferred work run to the end. */
  async function served(bindings: Env, request: Request | string, init: RequestInit = {}) {
    const ctx = createExecutionContext();
    const response = await dev.fetch(typeof request === 'string' ? new Request(`${ISSUER}${request}`, { redirect: 'manual', ...init }) : request, bindings, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }

  /** What the bridge logged while `run` ran. */
  async function logged<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
    const spies = (['error', 'warn', 'log', 'info'] as const).map((level) => vi.spyOn(console, level).mockImplementation(() => undefined));
    try {
      const result = await run();
      return { result, lines: spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(' '))) };
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  }

  it.each(['throws', 'rejects'] as const)('the token exchange answers its tokens when the queue %s; the failure is logged without a secret', async (how) => {
    const { env, attempts } = failingQueue(how, { WEBHOOKS });
    const client = await register();
    const minted = await mint({ kind: 'app', openid: uniqueId('o-'), unionid: uniqueId('u-') });
    const { result: response, lines } = await logged(() => served(env, tokenExchange(client, minted)));
    expect(response.status).toBe(200);
    const tokens = await response.json<TokenSet>();
    expect(tokens).toMatchObject({ access_token: expect.any(String), id_token: expect.any(String), token_type: 'Bearer' });
    // user.created and login.succeeded were handed to the queue, which failed them.
    expect(attempts()).toBeGreaterThan(0);
    expect(lines).toEqual([expect.stringContaining('deferred work failed')]);
    for (const secret of [client.client_secret!, minted.code, tokens.access_token, tokens.id_token!, ...HOOKS.map((hook) => hook.secret)]) {
      expect(lines.join('\n')).not.toContain(secret);
    }
  });

  it('the token exchange answers while the queue never does: the send waits past the response', async () => {
    const { env, attempts } = failingQueue('hangs', { WEBHOOKS });
    const client = await register();
    const minted = await mint({ kind: 'app', openid: uniqueId('o-') });
    // The execution context is not waited on: what it holds never ends.
    const response = await dev.fetch(tokenExchange(client, minted), env, createExecutionContext());
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ access_token: expect.any(String) });
    expect(attempts()).toBeGreaterThan(0);
  });

  it.each(['throws', 'rejects'] as const)('a browser login is approved and goes back to the client when the queue %s', async (how) => {
    const { env, attempts } = failingQueue(how, { WEBHOOKS });
    const client = await register(webClientMetadata);
    const browser = new Browser((path, init) => served(env, path, init));
    const { result: back } = await logged(async () => {
      const loginId = await startLogin(browser, authorizeUrl(client));
      // A new person: the approval binds them (user.created), the way back logs them in (login.succeeded).
      const minted = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini01', openid: uniqueId('o-') });
      const approved = await served(env, '/wechat/handoff', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ login: loginId, code: minted.code, appid: minted.appid }),
      });
      expect(await approved.json()).toMatchObject({ status: 'approved' });
      const sent = attempts();
      expect(sent).toBeGreaterThan(0);
      const back = await browser.get(`/login/${loginId}/continue`);
      expect(attempts()).toBeGreaterThan(sent);
      return back;
    });
    expect(back.status).toBe(302);
    const location = new URL(back.headers.get('Location')!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('code')).toEqual(expect.any(String));
    expect(location.searchParams.get('state')).toBe('state-123');
  });
});

describe('a webhook delivery', () => {
  const delivery = (url: string): WebhookDelivery => ({ kind: 'webhook', id: 'msg_stable', url, type: 'user.created', body: webhookBody(created) });

  it('POSTs the body with the Standard Webhooks headers, and is acked on a 2xx', async () => {
    const hook = receiver('https://hooks-a.example', () => new Response('ok', { status: 202 }));
    restore = hook.restore;
    const { env } = recordingQueue({ WEBHOOKS });
    const before = Math.floor(Date.now() / 1000);
    const { acked, retried } = await runQueue(DELIVERIES_QUEUE, [{ id: 'm1', body: delivery(HOOKS[0]!.url) }], env);
    expect(acked).toEqual(['m1']);
    expect(retried).toEqual([]);
    expect(hook.posted).toHaveLength(1);
    const [posted] = hook.posted;
    expect(posted!.url).toBe(HOOKS[0]!.url);
    expect(posted!.body).toBe(webhookBody(created));
    expect(posted!.headers.get('content-type')).toBe('application/json');
    expect(posted!.headers.get('webhook-id')).toBe('msg_stable');
    const timestamp = posted!.headers.get('webhook-timestamp')!;
    expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
    expect(posted!.headers.get('webhook-signature')).toBe(expectedSignature(HOOKS[0]!.secret, 'msg_stable', timestamp, posted!.body));
  });

  it('is retried with a growing delay while the receiver fails (5xx, 3xx, a network error), with the same webhook-id', async () => {
    const answers = [
      () => new Response('down', { status: 503 }),
      () => new Response(null, { status: 302, headers: { Location: 'https://elsewhere.example/' } }),
      () => Promise.reject(new TypeError('network connection lost')),
    ];
    let call = 0;
    const hook = receiver('https://hooks-a.example', () => answers[call++]!());
    restore = hook.restore;
    const { env } = recordingQueue({ WEBHOOKS });
    const delays: number[] = [];
    for (const attempts of [1, 2, 3]) {
      const { acked, retried } = await runQueue(DELIVERIES_QUEUE, [{ id: 'm2', body: delivery(HOOKS[0]!.url), attempts }], env);
      expect(acked).toEqual([]);
      expect(retried.map((retry) => retry.msgId)).toEqual(['m2']);
      delays.push(retried[0]!.delaySeconds!);
    }
    expect(delays).toEqual([30, 60, 120]);
    expect(new Set(hook.posted.map((posted) => posted.headers.get('webhook-id')))).toEqual(new Set(['msg_stable']));
  });

  it('is dropped when its receiver is no longer subscribed', async () => {
    const hook = receiver('https://gone.example');
    restore = hook.restore;
    const { env } = recordingQueue({ WEBHOOKS });
    const { acked } = await runQueue(DELIVERIES_QUEUE, [{ id: 'm3', body: delivery('https://gone.example/in') }], env);
    expect(acked).toEqual(['m3']);
    expect(hook.posted).toEqual([]);
  });
});

describe('retryDelaySeconds', () => {
  it('doubles from 30 s with each attempt, at most an hour', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 20].map(retryDelaySeconds)).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
  });
});
