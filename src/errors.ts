import { DrizzleQueryError } from 'drizzle-orm/errors';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

const DESCRIPTION_MAX = 200;

/**
 * RFC 6749 §4.1.2.1 and §5.2: error_description is %x20-21 / %x23-5B /
 * %x5D-7E. Descriptions name the parameter at fault, never a name or value
 * the client sent (an error page or a client's log would show it); this only
 * makes our own words fit, and keeps them short.
 */
export function printableDescription(description: string): string {
  const printable = description.replace(/"/g, "'").replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?');
  return printable.length > DESCRIPTION_MAX ? `${printable.slice(0, DESCRIPTION_MAX - 3)}...` : printable;
}

/**
 * The one error type of the provider. Handlers throw it; `src/app.ts`
 * renders it as the JSON of RFC 6749 §5.2 (and its siblings in RFC 6750,
 * 7009, 7591, 7662, 8628 and 8693).
 */
export class OAuthError extends Error {
  readonly description: string;

  constructor(
    readonly error: string,
    description: string,
    readonly status: ContentfulStatusCode = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.description = printableDescription(description);
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export const invalidRequest = (description: string) => new OAuthError('invalid_request', description);
export const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);
export const unauthorizedClient = (description: string) => new OAuthError('unauthorized_client', description);
export const temporarilyUnavailable = (description: string) =>
  new OAuthError('temporarily_unavailable', description, 503, { 'Retry-After': '5' });
export const serverError = (description: string) => new OAuthError('server_error', description, 500);

/**
 * What a thrown error means to the client. hono's middleware refuses a request
 * with an HTTPException (csrf: 403, a cross-site form): the client's doing,
 * answered with its status. Anything else is the bridge's fault: logged by
 * name and message, never shown.
 */
export function asOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof HTTPException && error.status < 500) {
    const refused = error.status === 403 ? 'access_denied' : 'invalid_request';
    return new OAuthError(refused, error.message || 'the request was refused', error.status);
  }
  console.error('unhandled error', logSummary(error));
  return new OAuthError('server_error', 'the server failed to process the request', 500);
}

/**
 * What the log may say of an unexpected error. A failed D1 query reaches
 * here as drizzle's DrizzleQueryError, whose message is the SQL with its
 * parameters (openids, phone numbers, login ids): it is named, and only
 * D1's own reason is kept ("UNIQUE constraint failed: users.phone_number"),
 * unless that too quotes a parameter.
 */
export function logSummary(error: unknown): string {
  if (error instanceof DrizzleQueryError) {
    const reason = error.cause instanceof Error ? error.cause.message : '';
    // The identifying values are strings; a short one or a number ("1") would be found in any reason ("D1_ERROR").
    const quotesParam = error.params.some((param) => typeof param === 'string' && param.length >= 4 && reason.includes(param));
    return `DrizzleQueryError: ${reason && !quotesParam ? reason : 'the query failed (its reason quotes a parameter)'}`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown';
}
