import type { Context } from 'hono';
import { type Env, getConfig } from '../config';

/**
 * Faults the sandbox can give instead of (or around) a good answer: any
 * WeChat errcode, and the failures of the network and of WeChat's front
 * end. See "Fault injection" in wechat-api.ts.
 */
export type SandboxFault =
  /** A non-zero WeChat errcode, answered as `{errcode, errmsg}` with HTTP 200. */
  | number
  /** The request is served, but its answer comes later than the client's timeout. */
  | 'timeout'
  /** The request is served and answered correctly, after a delay well inside the client's timeout. */
  | 'slow'
  /** HTTP 200 with a truncated JSON body. */
  | 'malformed_json'
  /** An HTTP error status (400-599) with an HTML body, as a proxy in front of WeChat gives. */
  | `http_${number}`;

/** The APIs the fake serves: faults can be queued for each. */
export const SANDBOX_PATHS = [
  '/sns/oauth2/access_token',
  '/sns/userinfo',
  '/sns/jscode2session',
  '/cgi-bin/stable_token',
  '/wxa/business/getuserphonenumber',
  '/wxa/getwxacodeunlimit',
  '/wxa/generatescheme',
] as const;

/** The fault `value` names, or undefined. */
export function parseFault(value: unknown): SandboxFault | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value !== 0 ? value : undefined;
  if (value === 'timeout' || value === 'slow' || value === 'malformed_json') return value;
  if (typeof value === 'string' && /^http_[45]\d\d$/.test(value)) return value as `http_${number}`;
  return undefined;
}

export const FAULT_HINT = 'a non-zero WeChat errcode, "timeout", "slow", "malformed_json" or "http_<400-599>"';

// --- The queue of path faults, in KV -----------------------------------------------

interface Queued {
  fault: SandboxFault;
  times: number;
}

const queueKey = (path: string) => `sandbox:faults:${path}`;
const QUEUE_PREFIX = 'sandbox:faults:';
/** A queued fault nobody triggered is forgotten after an hour. */
const QUEUE_TTL = 3600;

/** Queues `fault` for the next `times` requests to `path`, after any already queued there. */
export async function queueFault(kv: KVNamespace, path: string, fault: SandboxFault, times: number): Promise<number> {
  const queue = [...(await readQueue(kv, path)), { fault, times }];
  await kv.put(queueKey(path), JSON.stringify(queue), { expirationTtl: QUEUE_TTL });
  return queue.reduce((sum, entry) => sum + entry.times, 0);
}

/** Drops every queued fault; returns how many requests they would have failed. */
export async function clearFaults(kv: KVNamespace): Promise<number> {
  let dropped = 0;
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix: QUEUE_PREFIX, cursor });
    for (const { name } of page.keys) {
      dropped += (await readQueue(kv, name.slice(QUEUE_PREFIX.length))).reduce((sum, entry) => sum + entry.times, 0);
      await kv.delete(name);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return dropped;
}

/**
 * The fault for this request to `path`, if one is queued. Read, then
 * written back: concurrent requests to one path may both take the same
 * last fault, so queue faults for sequential calls.
 */
export async function takeFault(kv: KVNamespace, path: string): Promise<SandboxFault | undefined> {
  const queue = await readQueue(kv, path);
  const head = queue[0];
  if (!head) return undefined;
  if (head.times > 1) queue[0] = { ...head, times: head.times - 1 };
  else queue.shift();
  if (queue.length > 0) await kv.put(queueKey(path), JSON.stringify(queue), { expirationTtl: QUEUE_TTL });
  else await kv.delete(queueKey(path));
  return head.fault;
}

async function readQueue(kv: KVNamespace, path: string): Promise<Queued[]> {
  const queue = await kv.get<Queued[]>(queueKey(path), 'json');
  return Array.isArray(queue) ? queue : [];
}

// --- Answering with a fault ---------------------------------------------------------

/**
 * Answers with `fault`, or with `respond()` when there is none. `respond`
 * serves the request for real: it runs for "slow" (after the delay) and
 * "timeout" (before it), not for the others.
 */
export async function answerWithFault<E extends { Bindings: Env }>(
  c: Context<E>,
  fault: SandboxFault | undefined,
  respond: () => Response | Promise<Response>,
  refuse: (errcode: number) => Response,
): Promise<Response> {
  if (fault === undefined) return respond();
  if (typeof fault === 'number') return refuse(fault);
  const timeout = getConfig(c.env).wechat.timeoutMs;
  switch (fault) {
    case 'slow':
      await sleep(slowDelayMs(timeout), c.req.raw.signal);
      return respond();
    case 'timeout': {
      const response = await respond();
      // Until the client gives up (its abort signal), and at most twice its timeout.
      await sleep(timeout * 2, c.req.raw.signal);
      return response;
    }
    case 'malformed_json':
      return c.body('{"errcode":0,"errmsg":"ok","openid":"o', 200, { 'content-type': 'application/json; charset=utf-8' });
    default: {
      const status = Number(fault.slice('http_'.length));
      return new Response(`<html><body><h1>${status}</h1>sandbox fault</body></html>`, {
        status,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      });
    }
  }
}

/** "slow": a quarter of the client's timeout, leaving it most of its time for the real work. */
export const slowDelayMs = (timeoutMs: number) => Math.floor(timeoutMs / 4);

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
