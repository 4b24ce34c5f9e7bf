/**
 * The pages' side of the app: what a person's browser navigates to (the
 * authorization endpoint, a pending login's pages, logout, the device page).
 * Every page goes out with a CSP whose nonce is fresh per response, no
 * framing, no caching; an error on a page is a page.
 */
import type { ErrorHandler, MiddlewareHandler } from 'hono';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import type { AppContext, AppEnv } from '../context';
import { asOAuthError } from '../errors';
import { pickLocale, t } from '../ui/i18n';
import { MessagePage } from '../ui/message-page';

type PageStatus = 200 | 400 | 401 | 403 | 404 | 405 | 409 | 413 | 429 | 500 | 503;

type Renderable = string | Promise<string> | { toString(): string | Promise<string> };

/** Strict headers for every page; scripts and styles run only under the response's nonce. */
export const pageHeaders: MiddlewareHandler<AppEnv> = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    imgSrc: ["'self'", 'data:'],
    styleSrc: [NONCE],
    scriptSrc: [NONCE],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  xFrameOptions: 'DENY',
  referrerPolicy: 'no-referrer',
  // hono's default (180 days) would go out on http too: src/web/transport.ts sends HSTS, on https only.
  strictTransportSecurity: false,
});

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
  // hono's NONCE sets the nonce before the handler runs; a page outside pageHeaders would have none.
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
