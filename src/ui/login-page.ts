/**
 * The page a browser waits on while the mini program approves its pending
 * login (docs/protocol.md §5): a mini program code to scan (desktop), an
 * "Open WeChat" link (phone), the Official Account's authorization (in
 * WeChat's browser), the Website App's QR login (desktop), the device flow's
 * user code (RFC 8628 §3.3), and whatever the entry point adds (in
 * development, the sandbox's stand-in for the mini program, docs/protocol.md
 * §6).
 */
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import { type Locale, t } from './i18n';
import { Layout } from './layout';
import { LOGIN_SCRIPT } from './login-script';

/**
 * Markup added to the login page by the entry point, rendered under the
 * page's nonce. It may dispatch `login:check` on `document` to have the page
 * look at the login's status at once; the page hides elements marked
 * `data-hide-when-done` once the login is over.
 */
export type LoginPageAddOn = (props: { locale: Locale; loginId: string; miniprogramAppid: string; nonce: string }) => Child;

export interface LoginPageProps {
  locale: Locale;
  /** The pending login's id, at most 32 of [A-Za-z0-9_-]: the mini program code's `scene`. */
  loginId: string;
  /** The client the user is signing in to. */
  clientName: string;
  mode: 'authorization' | 'device';
  /** Device mode: shown for the user to compare with their device's. */
  userCode?: string;
  /** The page's own same-origin URL, shown in the address bar when another URL (the authorization request) served it. */
  pageUrl: string;
  /** Same-origin URL of the mini program code image; absent: no mini program is configured, or the Official Account replaces it (WeChat's browser). */
  qrUrl?: string;
  /** Same-origin URL that redirects to the `weixin://` URL Scheme; absent: no mini program is configured. */
  openUrl?: string;
  /** Same-origin URL that leads to the Official Account's authorization (browser logins in WeChat's browser only). */
  officialAccountUrl?: string;
  /** Same-origin URL that leads to a Website App's QR login (desktop browser logins only). */
  websiteUrl?: string;
  /** The way to lead with, when not the mini program's: the Official Account in WeChat's browser, or the one whose acr the request preferred. */
  first?: 'officialaccount' | 'website';
  /** Same-origin GET answering `{"status": "pending" | "approved" | "denied" | "expired"}`. */
  statusUrl: string;
  /** Authorization mode: where the browser goes once the login is approved or denied. */
  continueUrl: string;
  /** What the entry point adds, already rendered. */
  addOn?: Child;
  /** CSP nonce of the inline style and script. */
  nonce: string;
}

export function LoginPage(props: LoginPageProps) {
  const s = t(props.locale);
  const userCode = props.mode === 'device' && props.userCode && html`<section aria-labelledby="user-code-label"><p class="muted" id="user-code-label">${s.userCodeLabel}</p><p class="user-code" id="user-code" data-testid="user-code">${props.userCode}</p><p class="muted">${s.userCodeHint}</p></section>`;
  const qr = props.qrUrl && html`<figure class="qr" data-login-method="miniprogram-code"><img id="qr" data-testid="qr" src="${props.qrUrl}" alt="${s.qrAlt}" width="220" height="220"/><figcaption><strong>${s.scanWithWeChat}</strong><br/><span class="muted">${s.scanHint}</span></figcaption></figure>`;
  const website = props.websiteUrl && html`<div class="website" data-login-method="website-qr"><a class="button primary" id="website-qr" data-testid="website-qr" href="${props.websiteUrl}">${s.websiteLogin}</a><p class="muted">${s.websiteHint}</p></div>`;
  const lead = props.first === 'officialaccount';
  const officialAccount = props.officialAccountUrl && html`<div class="${lead ? 'lead' : 'official'}" data-login-method="officialaccount"><a class="button primary" id="officialaccount" data-testid="officialaccount" href="${props.officialAccountUrl}">${s.officialAccountLogin}</a><p class="muted">${s.officialAccountHint}</p></div>`;
  const open = props.openUrl && html`<div class="open" data-login-method="open-wechat"><a class="button" id="open-wechat" data-testid="open-wechat" href="${props.openUrl}">${s.openWeChat}</a><p class="muted">${s.openHint}</p></div>`;
  return Layout({
    locale: props.locale,
    title: s.loginTitle,
    nonce: props.nonce,
    script: LOGIN_SCRIPT,
    children: html`<main id="login" data-login-session="${props.loginId}" data-mode="${props.mode}" data-page-url="${props.pageUrl}" data-status-url="${props.statusUrl}" data-continue-url="${props.continueUrl}"><h1>${s.signInTo(props.clientName)}</h1>${userCode}<div class="ways" id="ways">${lead && officialAccount}${props.first === 'website' ? html`${website}${qr}` : html`${qr}${website}`}${open}${!lead && officialAccount}</div><p id="status" data-testid="status" class="status" role="status" aria-live="polite" data-waiting="${s.waiting}" data-redirecting="${s.redirecting}" data-device-approved="${s.deviceApproved}" data-denied="${s.denied}" data-expired="${s.expired}" data-retrying="${s.retrying}">${s.waiting}</p><noscript><p><a href="${props.continueUrl}" data-testid="continue">${s.noscriptContinue}</a></p></noscript>${props.addOn}</main>`,
  });
}
