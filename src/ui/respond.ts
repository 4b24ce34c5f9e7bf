/** Every HTML page goes out with the same strict headers and a fresh CSP nonce; errors on pages are pages. */
import type { MiddlewareHandler } from 'hono';
import type { AppContext, AppEnv } from '../context';
import { OAuthError } from '../oidc/errors';
import { randomId } from '../tokens/crypto';
import { pickLocale, t } from './i18n';
import { MessagePage } from './message-page';

type PageStatus = 200 | 400 | 401 | 403 | 404 | 405 | 409 | 413 | 500 | 503;

type Renderable = string | Promise<string> | { toString(): string | Promise<string> };

export interface HtmlOptions {
  status?: PageStatus;
  /** Where a form on the page may end up besides this origin: CSP form-action also governs its redirects. */
  formTargets?: string[];
}

export async function respondHtml(c: AppContext, render: (nonce: string) => Renderable, options: HtmlOptions = {}) {
  const nonce = randomId(16);
  const body = await (await render(nonce)).toString();
  return c.html(body, options.status ?? 200, {
    'Content-Security-Policy': [
      "default-src 'none'",
      "img-src 'self' data:",
      `style-src 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      ["form-action 'self'", ...(options.formTargets ?? [])].join(' '),
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
}

/** An error a person sees (SPEC.md §8: before a redirect can be trusted, errors are shown, never redirected). */
export function errorPage(c: AppContext, error: string, description: string, status: PageStatus = 400) {
  const locale = pickLocale(new URL(c.req.url).searchParams.get('ui_locales') ?? undefined, c.req.header('Accept-Language'));
  const strings = t(locale);
  const message = error === 'invalid_client' ? strings.unknownClient : error === 'invalid_redirect_uri' ? strings.badRedirectUri : description;
  return respondHtml(c, (nonce) => MessagePage({ locale, title: strings.errorTitle, message, status: 'error', nonce }), { status });
}

const PAGE_STATUSES = new Set<number>([400, 401, 403, 404, 405, 409, 413, 500, 503]);

/**
 * For routes a person navigates to (the authorization endpoint, a pending
 * login's pages, logout, the device page): whatever error the one error
 * handler rendered as JSON becomes a page, with the same status and headers.
 */
export const pageErrors: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (!c.error) return;
  const error = c.error instanceof OAuthError ? c.error : new OAuthError('server_error', 'the server failed to process the request', 500);
  const status = PAGE_STATUSES.has(error.status) ? (error.status as PageStatus) : 500;
  const page = await errorPage(c, error.error, error.description, status);
  for (const [name, value] of Object.entries(error.headers)) page.headers.set(name, value);
  c.res = page;
};
