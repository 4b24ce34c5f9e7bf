/**
 * OAuth 2.0 Form Post Response Mode §2: the authorization response as a form
 * of hidden fields that posts itself to the client's redirect_uri. The script
 * that submits it runs under the page's CSP nonce; without scripts, a button.
 */
import { html } from 'hono/html';
import { type Locale, t } from './i18n';
import { hiddenInputs, Layout } from './layout';

export interface FormPostPageProps {
  locale: Locale;
  /** The client's redirect_uri: where the form posts (the CSP's form-action allows its origin). */
  action: string;
  /** The response's parameters: code, state, iss, or error, error_description, state, iss. */
  fields: Record<string, string>;
  nonce: string;
}

const SUBMIT = 'document.forms[0].submit()';

export function FormPostPage({ locale, action, fields, nonce }: FormPostPageProps) {
  const s = t(locale);
  return Layout({
    locale,
    title: s.formPostTitle,
    nonce,
    script: SUBMIT,
    children: html`<main data-testid="form-post"><form method="post" action="${action}">${hiddenInputs(fields)}<h1>${s.formPostTitle}</h1><noscript><div class="actions"><button type="submit" class="button primary" data-testid="form-post-continue">${s.formPostButton}</button></div></noscript></form></main>`,
  });
}
