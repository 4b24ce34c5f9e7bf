/** Reading request parameters and bodies the way the RFCs require, with spec-shaped errors. */
import type { Context } from 'hono';
import { invalidRequest, OAuthError } from '../errors';

const FORM = /^application\/x-www-form-urlencoded(\s*;|$)/i;

/** Whether the body is a form, the only body the OAuth endpoints read. */
export const hasFormBody = (c: Context) => FORM.test(c.req.header('Content-Type') ?? '');

/**
 * An application/x-www-form-urlencoded body (RFC 6749 §3.2, RFC 7009 §2.1,
 * RFC 7662 §2.1, RFC 8628 §3.1). A parameter sent twice is an error
 * (RFC 6749 §3.1), and empty values count as absent.
 */
export async function readForm(c: Context): Promise<Map<string, string>> {
  if (!hasFormBody(c)) throw invalidRequest('the body must be application/x-www-form-urlencoded');
  // Bytes, decoded as UTF-8: reading a form body with .text() makes workerd warn.
  return parameters(new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer())));
}

/**
 * The parameters of an endpoint that takes GET and POST alike (OpenID
 * Connect Core §3.1.2.1, RP-Initiated Logout §2): the query, or the form body.
 */
export function requestParams(c: Context): Promise<Map<string, string>> {
  return c.req.method === 'POST' ? readForm(c) : Promise.resolve(parameters(new URL(c.req.url).searchParams));
}

function parameters(search: URLSearchParams): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of search) {
    if (params.has(name)) throw invalidRequest('a parameter is repeated');
    if (value !== '') params.set(name, value);
  }
  return params;
}

/** A JSON body; anything else is `errorCode` (invalid_request unless told otherwise). */
export async function readJson(c: Context, errorCode = 'invalid_request'): Promise<unknown> {
  const type = c.req.header('Content-Type') ?? '';
  if (!/^application\/json(\s*;|$)/i.test(type)) throw new OAuthError(errorCode, 'the body must be application/json');
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw new OAuthError(errorCode, 'the body is not valid JSON');
  }
}
