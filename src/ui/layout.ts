/**
 * The frame every page shares: one stylesheet, inline under the CSP nonce, and
 * no external resource of any kind (no fonts, CDNs or images of our own).
 *
 * The pages are hono's `html` templates, not hono/jsx, which would add about
 * 12 KB (minified) to the deploy bundle for four pages; an interpolated value
 * is escaped, `false`, `null` and `undefined` render nothing. The markup is
 * written as hono/jsx renders it (void elements as `<meta .../>`), so the
 * sandbox's JSX pages, which use this frame, look the same.
 */
import type { Child } from 'hono/jsx';
import { html, raw } from 'hono/html';
import type { Locale } from './i18n';

export interface LayoutProps {
  locale: Locale;
  title: string;
  nonce: string;
  /** A constant script, run under the same nonce. */
  script?: string;
  children?: Child;
}

/** A form's hidden fields, one per name, values escaped (the logout confirmation, the form post response). */
export const hiddenInputs = (fields: Record<string, string>) =>
  Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}"/>`);

export function Layout({ locale, title, nonce, script, children }: LayoutProps) {
  return html`<!doctype html><html lang="${locale}"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/><meta name="referrer" content="no-referrer"/><meta name="robots" content="noindex"/><title>${title}</title><style nonce="${nonce}">${raw(CSS)}</style></head><body>${children}${script && html`<script nonce="${nonce}">${raw(script)}</script>`}</body></html>`;
}

// WeChat's own green (#07c160) is too light for white text (2.4:1); #067a3e gives 5.4:1.
const CSS = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#57606a;--bg:#f6f8fa;--card:#fff;--line:#d0d7de;--accent:#067a3e;--focus:#067a3e;--danger:#b42318;
font:16px/1.5 system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei",sans-serif}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;--card:#161b22;--line:#30363d;--focus:#3fb950;--danger:#ff7b72}}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;min-height:100vh;display:grid;place-items:center;padding:1rem;background:var(--bg);color:var(--fg)}
main{width:100%;max-width:28rem;padding:2rem;background:var(--card);border:1px solid var(--line);border-radius:12px;text-align:center}
h1{margin:0 0 1rem;font-size:1.375rem;line-height:1.3;overflow-wrap:anywhere}
p{margin:.5rem 0}
.muted{color:var(--muted);font-size:.875rem}
.error{color:var(--danger)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.button{display:inline-block;padding:.75rem 1.5rem;border:1px solid var(--line);border-radius:8px;background:var(--card);color:var(--fg);font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
.button:disabled{opacity:.6;cursor:wait}
.ways{display:flex;flex-direction:column;gap:1.5rem;margin:1.5rem 0}
.lead{order:-2}
.qr img{display:block;margin:0 auto .5rem;width:220px;height:220px;padding:8px;border-radius:8px;background:#fff}
.user-code{margin:0;font:700 2rem/1.2 ui-monospace,"SF Mono",Menlo,Consolas,monospace;letter-spacing:.15em;overflow-wrap:anywhere}
.status{min-height:1.5em;font-weight:600}
form,figure{margin:0}
fieldset{margin:1.5rem 0 0;padding:1rem;border:1px dashed var(--line);border-radius:8px;text-align:start}
legend{padding:0 .25rem;font-weight:600}
label{display:block;margin:.75rem 0 .25rem;font-size:.875rem}
input{width:100%;padding:.5rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg);font:inherit}
input.user-code{text-align:center;font-size:1.5rem}
.actions{display:flex;gap:.5rem;justify-content:center;margin-top:1rem}
pre:empty{display:none}
pre{margin:.75rem 0 0;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8125rem}
@media (max-width:40rem){
main{padding:1.25rem}
.open{order:-1}
.open .button,.lead .button{display:block;padding:1rem;background:var(--accent);border-color:var(--accent);color:#fff;font-size:1.125rem}
.qr img{width:160px;height:160px}
}
`;
