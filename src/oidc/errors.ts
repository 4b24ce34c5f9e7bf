import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The one error type of the provider. Handlers throw it; `src/index.ts`
 * renders it as the JSON of RFC 6749 §5.2 (and its siblings in RFC 6750,
 * 7009, 7591, 7662, 8628 and 8693).
 */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status: ContentfulStatusCode = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
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
