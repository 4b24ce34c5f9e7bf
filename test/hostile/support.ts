/**
 * What the hostile-input properties share: hostile values and request
 * bodies (fast-check arbitraries), a snapshot of everything the provider
 * stores, and the checks that an answer is the error the spec promises.
 */
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { expect } from 'vitest';
import { call } from '../support/oidc';

/**
 * Runs per property, bounded so the whole hostile suite stays well under a
 * minute: broad properties get more, narrow ones fewer.
 */
export const RUNS = {
  broad: { numRuns: 80 },
  medium: { numRuns: 50 },
  narrow: { numRuns: 30 },
} as const;
/** Per-test timeout for a property (vitest's default 5 s is too short for 60 requests and snapshots). */
export const PROPERTY_TIMEOUT = 60_000;

export const FORM = 'application/x-www-form-urlencoded';

// --- What the provider stores ---------------------------------------------------------------

/** KV keys the WeChat sandbox writes for itself: the fake stands for WeChat's servers, not the bridge's state. */
const SANDBOX_KV = 'sandbox:';

async function digest(value: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value)));
  return [...bytes.slice(0, 8)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Every D1 table (listed from sqlite_master) with its row count and a digest
 * of its rows, and the bridge's KV keys with a digest of their values: a
 * rejected request must leave all of it as it was.
 */
export async function snapshot(): Promise<Record<string, string | number>> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
  ).all<{ name: string }>();
  const names = tables.results.map((table) => table.name);
  const rows = await env.DB.batch(names.map((name) => env.DB.prepare(`SELECT * FROM "${name}" ORDER BY rowid`)));
  const state: Record<string, string | number> = {};
  for (const [index, name] of names.entries()) {
    const result = rows[index]!.results;
    state[`d1:${name}:count`] = result.length;
    state[`d1:${name}:rows`] = await digest(JSON.stringify(result));
  }
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.KV.list({ cursor });
    keys.push(...page.keys.map((key) => key.name).filter((name) => !name.startsWith(SANDBOX_KV)));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  state['kv:count'] = keys.length;
  const values = await Promise.all(keys.map(async (key) => `${key}=${await env.KV.get(key)}`));
  state['kv:entries'] = await digest(values.join('\n'));
  return state;
}

/** Sends a request and says whether D1 and KV are as they were before it. */
export async function sendWatched(path: string, init: RequestInit): Promise<{ response: Response; unchanged: () => void }> {
  const before = await snapshot();
  const response = await call(path, { redirect: 'manual', ...init });
  // Read the whole answer before looking again: by then the handler has finished.
  await response.clone().arrayBuffer();
  const after = await snapshot();
  return {
    response,
    unchanged: () => {
      expect(after, `${init.method ?? 'GET'} ${path.slice(0, 200)} changed the stored state`).toEqual(before);
    },
  };
}

// --- What an error looks like ---------------------------------------------------------------

/** RFC 6749 §5.2: error and error_description are %x20-21 / %x23-5B / %x5D-7E. */
const ERROR_CHARS = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;

export interface ErrorRule {
  /** Status → the error codes allowed with it. */
  [status: number]: readonly string[];
}

/** Asserts the RFC error JSON with one of the allowed statuses and codes; returns it. */
export async function expectJsonError(
  response: Response,
  allowed: ErrorRule,
  what = '',
  /** RFC 6749 §5.2's character set for error_description; off only for the sandbox, which is no OAuth endpoint. */
  { rfc6749Characters = true } = {},
): Promise<{ error: string; error_description?: string }> {
  const text = await response.clone().text();
  const context = `${what} → ${response.status} ${text.slice(0, 300)}`;
  expect(response.status, context).toBeLessThan(500);
  expect(Object.keys(allowed).map(Number), context).toContain(response.status);
  expect(response.headers.get('Content-Type') ?? '', context).toMatch(/^application\/json/);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not JSON: ${context}`);
  }
  expect(typeof body === 'object' && body !== null && !Array.isArray(body), context).toBe(true);
  for (const key of Object.keys(body)) expect(['error', 'error_description', 'error_uri'], context).toContain(key);
  expect(typeof body.error, context).toBe('string');
  expect(body.error as string, context).toMatch(ERROR_CHARS);
  expect(allowed[response.status], context).toContain(body.error);
  if (body.error_description !== undefined) {
    expect(typeof body.error_description, context).toBe('string');
    if (rfc6749Characters) expect(body.error_description as string, context).toMatch(ERROR_CHARS);
    expect((body.error_description as string).length, context).toBeLessThanOrEqual(512);
  }
  if (response.status === 401) expect(response.headers.get('WWW-Authenticate'), context).toBeTruthy();
  return body as { error: string; error_description?: string };
}

/** An error page for a person (docs/protocol.md §8): HTML, a 4xx, and no redirect anywhere. */
export async function expectHtmlError(response: Response, statuses: readonly number[], what = ''): Promise<void> {
  const text = await response.clone().text();
  const context = `${what} → ${response.status} ${response.headers.get('Location') ?? ''} ${text.slice(0, 200)}`;
  expect(statuses, context).toContain(response.status);
  expect(response.headers.get('Content-Type') ?? '', context).toMatch(/^text\/html/);
  expect(response.headers.get('Location'), context).toBeNull();
  // Never a stack trace or an internal name.
  expect(text, context).not.toMatch(/\bat [\w.]+ \(|TypeError|ReferenceError|D1_ERROR|SQLITE/);
}

/** Never a 5xx, never a stack trace, whatever the endpoint. */
export async function expectNoServerError(response: Response, what = ''): Promise<void> {
  const text = await response.clone().text();
  expect(response.status, `${what} → ${response.status} ${text.slice(0, 300)}`).toBeLessThan(500);
  expect(text, what).not.toMatch(/\bat [\w.]+ \(|D1_ERROR|SQLITE_/);
}

// --- Hostile values -------------------------------------------------------------------------

/** Values that have broken parsers before: bad encodings, NUL, surrogates, injections, huge strings. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '%',
  '%Z',
  '%ZZ',
  '%00',
  '%C0%AF',
  '%ED%A0%80',
  '%FF%FE',
  '%E0%A4%A',
  '%u0041',
  '\uD800',
  '\uDFFF',
  '\uFEFF',
  '\u202E',
  '😀',
  '中文',
  '"quoted"',
  '\\',
  '\\"',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  '; DROP TABLE users; --',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '[]',
  '{}',
  '../../etc/passwd',
  'a'.repeat(10_000),
  '%'.repeat(5_000),
  '中'.repeat(4_000),
  'x=y&z',
  '&&&',
  '===',
  '+',
  'javascript:alert(1)',
  'http://evil.example/cb',
  '\r\nSet-Cookie: x=y',
  'eyJhbGciOiJub25lIn0.e30.',
  'a.b.c',
  '...',
];

/** Raw bytes that are not UTF-8: overlong forms, surrogates, truncated sequences, 0xFF. */
export const INVALID_UTF8: readonly (readonly number[])[] = [
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xff],
  [0xfe, 0xff],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0x80],
  [0x00],
];

export const nastyString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) },
  );

/** One piece of a form body, before it is turned into bytes. */
export type Piece =
  | { kind: 'pair'; name: string; value: string; encoding: 'proper' | 'raw' }
  | { kind: 'bytes'; bytes: readonly number[] }
  | { kind: 'literal'; text: string };

const encoder = new TextEncoder();

/** application/x-www-form-urlencoded as it should be encoded (lone surrogates become U+FFFD). */
const properly = (text: string) => new URLSearchParams({ x: text }).toString().slice(2);

export function formBytes(pieces: readonly Piece[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  pieces.forEach((piece, index) => {
    if (index > 0) parts.push(encoder.encode('&'));
    if (piece.kind === 'bytes') parts.push(Uint8Array.from(piece.bytes));
    else if (piece.kind === 'literal') parts.push(encoder.encode(piece.text));
    else if (piece.encoding === 'proper') parts.push(encoder.encode(`${properly(piece.name)}=${properly(piece.value)}`));
    else parts.push(encoder.encode(`${piece.name}=${piece.value}`));
  });
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Form bodies built from the endpoint's own parameter names and meaningful
 * values, mixed with hostile ones, repeated parameters, raw invalid bytes
 * and malformed pairs.
 */
export function formPieces(names: readonly string[], values: fc.Arbitrary<string>): fc.Arbitrary<Piece[]> {
  const name = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: nastyString() });
  const value = fc.oneof({ weight: 3, arbitrary: values }, { weight: 2, arbitrary: nastyString() });
  const piece: fc.Arbitrary<Piece> = fc.oneof(
    { weight: 10, arbitrary: fc.record({ kind: fc.constant('pair' as const), name, value, encoding: fc.constantFrom('proper' as const, 'raw' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.constantFrom(...INVALID_UTF8) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('literal' as const), text: fc.constantFrom('=', '&', '==', 'novalue', '=noname', '%', '%%%', '+=+') }) },
  );
  return fc.array(piece, { maxLength: 10 });
}

/** Content types a form endpoint may be sent, right and wrong. */
export const FORM_CONTENT_TYPES = [
  FORM,
  `${FORM}; charset=UTF-8`,
  `${FORM}; charset=ISO-8859-1`,
  'APPLICATION/X-WWW-FORM-URLENCODED',
  `${FORM}x`,
  'application/json',
  'multipart/form-data; boundary=xyz',
  'text/plain',
  'application/xml',
  ';;;',
  undefined,
] as const;

/** A multipart body with the same fields: the form endpoints take only urlencoded bodies. */
export function multipartBody(fields: Record<string, string>): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const boundary = '----hostile-boundary';
  const text = Object.entries(fields)
    .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
    .join('') + `--${boundary}--\r\n`;
  return { body: new Uint8Array(encoder.encode(text)), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Request headers from an optional content type and authorization. */
export function headersOf(contentType: string | undefined, authorization?: string, extra: Record<string, string> = {}): Headers {
  const headers = new Headers(extra);
  if (contentType !== undefined) headers.set('Content-Type', contentType);
  if (authorization !== undefined) headers.set('Authorization', authorization);
  return headers;
}

/** Header values fetch sends as they are (visible ASCII and space: no CR, LF, NUL or non-ASCII). */
export const headerSafe = (value: string) => value.replace(/[^\x20-\x7E]/g, '?');

/** A JSON body that is not the object an endpoint wants: any JSON, broken JSON, huge nesting. */
export const hostileJsonText = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.constantFrom('', '{', '{"a":', 'null', '[]', '"string"', '1e999', '{"__proto__":{"x":1}}', '[' .repeat(20_000), '{"a":' .repeat(5_000), '\uFEFF{}', '{}garbage'),
    fc.string({ unit: 'binary', maxLength: 60 }),
  );
