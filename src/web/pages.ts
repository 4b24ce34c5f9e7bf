/**
 * The pages' side of the app: what a person's browser navigates to (the
 * authorization endpoint, a pending login's pages, logout, the device page).
 * Every page goes out with a CSP whose nonce is fresh per response, no
 * framing, no caching; an error on a page is a page.
 */
import type { ErrorHandler, MiddlewareHandler } from 'hono';
import type { AppContext, AppEnv } from '../context';
import { asOAuthError } from '../errors';
import { pickLocale, t } from '../ui/i18n';
import { MessagePage } from '../ui/message-page';

type PageStatus = 200 | 400 | 401 | 403 | 404 | 405 | 409 | 413 | 429 | 500 | 503;

type Renderable = string | Promise<string> | { toString(): string | Promise<string> };

/**
 * Strict headers for every page (those of hono's secure-headers middleware,
 * spelled out: it weighs more than this); scripts and styles run only under
 * the response's nonce. No HSTS here: src/web/transport.ts sends it, on https only.
 */
const PAGE_HEADERS: readonly (readonly [string, string])[] = [
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'DENY'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
];

declare module 'hono' {
  interface ContextVariableMap {
    /** Pages: the CSP nonce of this response, under the key hono's secure-headers gave it (the sandbox's pages read it too). */
    secureHeadersNonce?: string;
  }
}

function contentSecurityPolicy(nonce: string): string {
  const source = `'nonce-${nonce}'`;
  return `default-src 'none'; img-src 'self' data:; style-src ${source}; script-src ${source}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
}

export const pageHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  // 128 random bits, base64 (CSP3 §2.3.1: base64-value); set before the handler, which renders with it.
  const nonce = c.get('secureHeadersNonce') ?? btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  c.set('secureHeadersNonce', nonce);
  await next();
  for (const [name, value] of PAGE_HEADERS) c.res.headers.set(name, value);
  c.res.headers.set('Content-Security-Policy', contentSecurityPolicy(nonce));
  c.res.headers.delete('X-Powered-By');
};

/**
 * CSP form-action also governs the redirects that follow a form's
 * submission: a page whose form ends at the client (logout's confirmation)
 * names that target with `allowFormTarget`, and this widens the policy for
 * that response alone. Registered before `pageHeaders`, so it runs after it.
 */
export const formTargets: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const targets = c.get('formTargets');
  const policy = c.res.headers.get('Content-Security-Policy');
  if (!targets?.length || !policy) return;
  c.res.headers.set('Content-Security-Policy', policy.replace(/form-action ([^;]*)/, `form-action $1 ${targets.join(' ')}`));
};

export function allowFormTarget(c: AppContext, source: string): void {
  c.set('formTargets', [...(c.get('formTargets') ?? []), source]);
}

/** A page rendered under this response's CSP nonce. */
export async function renderPage(c: AppContext, render: (nonce: string) => Renderable, status: PageStatus = 200) {
  // pageHeaders sets the nonce before the handler runs; a page outside it would have none.
  const nonce = c.get('secureHeadersNonce');
  if (!nonce) throw new Error('a page must be served under pageHeaders');
  return c.html(await (await render(nonce)).toString(), status);
}

/** An error a person sees (before a redirect can be trusted, errors are shown, never redirected). */
export function errorPage(c: AppContext, error: string, description: string, status: PageStatus = 400) {
  const locale = pickLocale(new URL(c.req.url).searchParams.get('ui_locales') ?? undefined, c.req.header('Accept-Language'));
  const strings = t(locale);
  const message =
    error === 'invalid_client' ? strings.unknownClient
    : error === 'invalid_redirect_uri' ? strings.badRedirectUri
    : status === 429 ? strings.tooManyRequests
    : description;
  return renderPage(c, (nonce) => MessagePage({ locale, title: strings.errorTitle, message, status: 'error', nonce }), status);
}

const PAGE_STATUSES = new Set<number>([400, 401, 403, 404, 405, 409, 413, 429, 500, 503]);

/** The pages' error handler: whatever was thrown becomes a page, with the error's status and headers. */
export const pageError: ErrorHandler<AppEnv> = async (thrown, c) => {
  const error = asOAuthError(thrown);
  const status = PAGE_STATUSES.has(error.status) ? (error.status as PageStatus) : 500;
  const page = await errorPage(c, error.error, error.description, status);
  for (const [name, value] of Object.entries(error.headers)) page.headers.set(name, value);
  return page;
};
