/** Every HTML page goes out with the same strict headers and a fresh CSP nonce. */
import type { AppContext } from '../context';
import { randomId } from '../tokens/crypto';

type Renderable = string | Promise<string> | { toString(): string | Promise<string> };

export interface HtmlOptions {
  status?: 200 | 400 | 403 | 404 | 409 | 500 | 503;
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
