/**
 * Plain pages: the authorization endpoint's HTML errors (docs/protocol.md §8: unknown
 * client, unregistered redirect_uri), "signed out", "return to your device",
 * and the logout confirmation (OpenID Connect RP-Initiated Logout §2).
 */
import { html } from 'hono/html';
import { type Locale, t } from './i18n';
import { hiddenInputs, Layout } from './layout';

export interface MessagePageProps {
  locale: Locale;
  title: string;
  message: string;
  status?: 'error' | 'info';
  nonce: string;
}

export function MessagePage({ locale, title, message, status = 'info', nonce }: MessagePageProps) {
  return Layout({
    locale,
    title,
    nonce,
    children: html`<main data-testid="message" data-status="${status}"><h1${status === 'error' && html` class="error"`}>${title}</h1><p>${message}</p></main>`,
  });
}

export interface LogoutConfirmPageProps {
  locale: Locale;
  /** Where the form posts: the end_session_endpoint. */
  action: string;
  /** Carried through the confirmation, e.g. id_token_hint, post_logout_redirect_uri, state. */
  hiddenFields: Record<string, string>;
  nonce: string;
}

export function LogoutConfirmPage({ locale, action, hiddenFields, nonce }: LogoutConfirmPageProps) {
  const s = t(locale);
  return Layout({
    locale,
    title: s.logoutTitle,
    nonce,
    children: html`<main data-testid="logout"><h1>${s.logoutTitle}</h1><p>${s.logoutMessage}</p><form method="post" action="${action}">${hiddenInputs(hiddenFields)}<div class="actions"><button type="submit" class="button primary" id="logout-confirm" data-testid="logout-confirm">${s.logoutButton}</button></div></form></main>`,
  });
}
