/**
 * The device flow's verification_uri without a code (RFC 8628 §3.3): the
 * user types the user_code their device shows. The form GETs this same URL
 * with `user_code`, which leads on to the pending login's page.
 */
import { html } from 'hono/html';
import { type Locale, t } from './i18n';
import { Layout } from './layout';

export interface DeviceCodePageProps {
  locale: Locale;
  nonce: string;
  /** The code just typed was unknown or expired. */
  invalid?: boolean;
}

export function DeviceCodePage({ locale, nonce, invalid = false }: DeviceCodePageProps) {
  const s = t(locale);
  return Layout({
    locale,
    title: s.deviceTitle,
    nonce,
    children: html`<main data-testid="device"><h1>${s.deviceTitle}</h1><p>${s.deviceHint}</p>${invalid && html`<p class="error" id="device-error" data-testid="device-error" role="alert">${s.deviceInvalid}</p>`}<form method="get"><label for="device-user-code">${s.deviceCodeLabel}</label><input id="device-user-code" data-testid="device-user-code" class="user-code" name="user_code" required="" autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="ABCD-EFGH"${invalid && html` aria-invalid="true" aria-describedby="device-error"`}/><div class="actions"><button type="submit" class="button primary" id="device-submit" data-testid="device-submit">${s.deviceContinue}</button></div></form></main>`,
  });
}
