import type { WeChatSettings } from '../config';
import { type Failure, isRetryable, WeChatFailure } from './errcodes';
import type { Transport } from './types';

const WECHAT_ORIGIN = 'https://api.weixin.qq.com';

/** The transport and the client's settings (src/config.ts reads them from the environment). */
export interface Http extends WeChatSettings {
  transport: Transport;
}

export interface WeChatRequest {
  /** Path without the leading slash, e.g. `sns/jscode2session`. */
  api: string;
  method?: 'GET' | 'POST';
  query: Record<string, string>;
  /** Sent as JSON (POST APIs). */
  body?: unknown;
  /**
   * The call exchanges a login or phone code. WeChat spends the code on the
   * first request even when that request fails, so such a call is never
   * retried, and its code errcodes (40029, 40163, ...) are the client's fault.
   */
  spendsCode: boolean;
}

export type Json = Record<string, unknown>;

/** Thrown by response parsers; `send` turns it into a `malformed` failure of that API. */
export class Malformed extends Error {}

/** A WeChat JSON API. `parse` reads the fields it needs, so nothing else (say, `session_key`) escapes. */
export function requestJson<T>(http: Http, request: WeChatRequest, parse: (body: Json) => T): Promise<T> {
  return withRetry(http, request, () =>
    send(http, request, async (response) => parse(await readJson(request, response))),
  );
}

/** A WeChat API answering image bytes on success, a JSON errcode otherwise (wxa/getwxacodeunlimit). */
export function requestImage(http: Http, request: WeChatRequest): Promise<Uint8Array<ArrayBuffer>> {
  return withRetry(http, request, () =>
    send(http, request, async (response) => {
      if (response.headers.get('content-type')?.startsWith('image/')) return new Uint8Array(await response.arrayBuffer());
      await readJson(request, response);
      throw new Malformed('expected an image');
    }),
  );
}

async function withRetry<T>(http: Http, request: WeChatRequest, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (request.spendsCode || !isRetryable(error)) throw error;
    await new Promise((resolve) => setTimeout(resolve, http.retryDelayMs));
    return attempt();
  }
}

/** One attempt under one timeout. The race also bounds transports that ignore the abort signal. */
async function send<T>(http: Http, request: WeChatRequest, read: (response: Response) => Promise<T>): Promise<T> {
  const url = new URL(`${WECHAT_ORIGIN}/${request.api}`);
  for (const [name, value] of Object.entries(request.query)) url.searchParams.set(name, value);
  const signal = AbortSignal.timeout(http.timeoutMs);
  const timedOut = new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => reject(fail(request, { type: 'unreachable', detail: 'timeout' })), { once: true });
  });
  const answered = (async () => {
    let response: Response;
    try {
      response = await http.transport(
        new Request(url, {
          method: request.method ?? 'GET',
          headers: request.body === undefined ? undefined : { 'content-type': 'application/json' },
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
          signal,
        }),
      );
    } catch {
      throw fail(request, { type: 'unreachable', detail: 'network error' });
    }
    if (response.status >= 500 || response.status === 429) {
      throw fail(request, { type: 'unreachable', detail: `HTTP ${response.status}` });
    }
    if (!response.ok) throw fail(request, { type: 'http', status: response.status });
    try {
      return await read(response);
    } catch (error) {
      if (error instanceof Malformed) throw fail(request, { type: 'malformed', detail: error.message });
      throw error;
    }
  })();
  return Promise.race([answered, timedOut]);
}

/** WeChat answers HTTP 200 with `{errcode, errmsg}` on failure; errcode 0 or absent is success. */
async function readJson(request: WeChatRequest, response: Response): Promise<Json> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new Malformed('not JSON');
  }
  if (!isJson(body)) throw new Malformed('not a JSON object');
  const { errcode, errmsg } = body;
  if (errcode === undefined || errcode === 0) return body;
  if (typeof errcode !== 'number') throw new Malformed('errcode is not a number');
  throw fail(request, { type: 'errcode', errcode, errmsg: typeof errmsg === 'string' ? errmsg : '' });
}

function fail(request: WeChatRequest, failure: Failure): WeChatFailure {
  return new WeChatFailure(request.api, failure, request.spendsCode);
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/* Field readers for `parse`: a missing or mistyped field means the answer is not what WeChat documents. */

export function string(body: Json, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') throw new Malformed(`${key} missing`);
  return value;
}

export function optionalString(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new Malformed(`${key} is not a string`);
  return value;
}

export function number(body: Json, key: string): number {
  const value = body[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Malformed(`${key} missing`);
  return value;
}

export function object(body: Json, key: string): Json {
  const value = body[key];
  if (!isJson(value)) throw new Malformed(`${key} missing`);
  return value;
}
