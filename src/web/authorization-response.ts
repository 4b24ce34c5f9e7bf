/**
 * Sending the browser back to the client with the authorization response:
 * RFC 6749 §4.1.2 / §4.1.2.1 with RFC 9207's `iss`, in the response mode the
 * client asked for (OAuth 2.0 Multiple Response Types §2.1): a redirect with
 * the query, or OAuth 2.0 Form Post Response Mode §2's self-posting form.
 */
import type { AppContext } from '../context';
import { FormPostPage } from '../ui/form-post-page';
import { pickLocale } from '../ui/i18n';
import { allowFormTarget, renderPage } from './pages';

export interface ResponseTarget {
  redirectUri: string;
  /** OAuth 2.0 Multiple Response Types §2.1; absent: the query. */
  responseMode?: 'query' | 'form_post';
  /** The request's ui_locales, for the form page's few words. */
  uiLocales?: string;
}

/** Every way back to the client goes through here: the code and errors alike. */
export function authorizationResponse(c: AppContext, issuer: string, target: ResponseTarget, result: Record<string, string | undefined>) {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(result)) if (value !== undefined) fields[name] = value;
  fields.iss = issuer;
  if (target.responseMode !== 'form_post') {
    const url = new URL(target.redirectUri);
    for (const [name, value] of Object.entries(fields)) url.searchParams.set(name, value);
    return c.redirect(url.href, 302);
  }
  // CSP form-action: the page may post to the client's origin, and nowhere else but this one.
  allowFormTarget(c, new URL(target.redirectUri).origin);
  const locale = pickLocale(target.uiLocales, c.req.header('Accept-Language'));
  return renderPage(c, (nonce) => FormPostPage({ locale, action: target.redirectUri, fields, nonce }));
}
