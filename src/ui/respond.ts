/** Every HTML page goes out with the same strict headers and a fresh CSP nonce. */
import type { AppContext } from '../context';
import { randomId } from '../tokens/crypto';

type Renderable = string | Promise<string> | { toString(): string | Promise<string> };

export async function respondHtml(c: AppContext, render: (nonce: string) => Renderable, status: 200 | 400 | 403 | 404 | 409 | 500 = 200) {
  const nonce = randomId(16);
  const body = await (await render(nonce)).toString();
  return c.html(body, status, {
    'Content-Security-Policy': [
      "default-src 'none'",
      "img-src 'self' data:",
      `style-src 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
}
