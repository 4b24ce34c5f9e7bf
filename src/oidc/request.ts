/** Reading request bodies the way the RFCs require, with spec-shaped errors. */
import type { AppContext } from '../context';
import { invalidRequest, OAuthError } from './errors';

/**
 * An application/x-www-form-urlencoded body (RFC 6749 §3.2, RFC 7009 §2.1,
 * RFC 7662 §2.1, RFC 8628 §3.1). A parameter sent twice is an error
 * (RFC 6749 §3.1), and empty values count as absent.
 */
export async function readForm(c: AppContext): Promise<Map<string, string>> {
  const type = c.req.header('Content-Type') ?? '';
  if (!/^application\/x-www-form-urlencoded(\s*;|$)/i.test(type)) {
    throw invalidRequest('the body must be application/x-www-form-urlencoded');
  }
  return formParams(await formBody(c));
}

/**
 * The body as form parameters, decoded as UTF-8 (a form body is bytes, not
 * text to the runtime: reading it with .text() makes workerd warn).
 */
export async function formBody(c: AppContext): Promise<URLSearchParams> {
  return new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer()));
}

export function formParams(search: URLSearchParams): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of search) {
    if (params.has(name)) throw invalidRequest(`the parameter ${name} is repeated`);
    if (value !== '') params.set(name, value);
  }
  return params;
}

/** A JSON object body; anything else is `errorCode` (invalid_request unless told otherwise). */
export async function readJson(c: AppContext, errorCode = 'invalid_client_metadata'): Promise<unknown> {
  const type = c.req.header('Content-Type') ?? '';
  if (!/^application\/json(\s*;|$)/i.test(type)) throw new OAuthError(errorCode, 'the body must be application/json');
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw new OAuthError(errorCode, 'the body is not valid JSON');
  }
}
