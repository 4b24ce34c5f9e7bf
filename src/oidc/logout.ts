/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2–3).
 * With a valid id_token_hint the session ends at once; without one the
 * user confirms with a same-site POST (the session cookie is SameSite=Lax,
 * so another site cannot end it). A post_logout_redirect_uri is only
 * followed when registered for the client.
 */
import { compactVerify, decodeProtectedHeader } from 'jose';
import { Hono } from 'hono';
import { bridge, type AppContext, type AppEnv, type Bridge } from '../context';
import { findClient } from '../store/clients';
import { deleteSession } from '../store/sessions';
import { sha256 } from '../tokens/crypto';
import { LogoutConfirmPage, MessagePage } from '../ui/message-page';
import { errorPage, respondHtml } from '../ui/respond';
import { pickLocale, t } from '../ui/i18n';
import { formBody, formParams } from './request';
import { clearSessionCookie, sessionCookieValue } from './session';

/** The claims of an ID token this issuer signed, expired or not (§2: the hint may have expired). */
async function hintClaims(context: Bridge, hint: string): Promise<{ aud?: unknown; sub?: unknown } | undefined> {
  try {
    const { kid, typ } = decodeProtectedHeader(hint);
    // An access token (RFC 9068 at+jwt) is not an ID token, whoever signed it.
    if (typ !== 'JWT') return undefined;
    const key = (await context.keys()).all.find((candidate) => candidate.kid === kid);
    if (!key) return undefined;
    const { payload } = await compactVerify(hint, key.publicKey, { algorithms: [key.alg] });
    const claims = JSON.parse(new TextDecoder().decode(payload)) as { iss?: unknown; aud?: unknown; sub?: unknown };
    return claims.iss === context.config.issuer ? claims : undefined;
  } catch {
    return undefined;
  }
}

/** A CSP source for a redirect target: its origin, or its scheme for a native app's private-use URI. */
function formTarget(uri: string): string {
  const url = new URL(uri);
  return url.origin === 'null' ? url.protocol : url.origin;
}

async function logout(c: AppContext) {
  const context = bridge(c);
  const params = formParams(
    c.req.method === 'POST' && /^application\/x-www-form-urlencoded/i.test(c.req.header('Content-Type') ?? '')
      ? await formBody(c)
      : new URL(c.req.url).searchParams,
  );
  const locale = pickLocale(params.get('ui_locales'), c.req.header('Accept-Language'));

  const hint = params.get('id_token_hint');
  const claims = hint ? await hintClaims(context, hint) : undefined;
  if (hint && !claims) return errorPage(c, 'invalid_request', 'id_token_hint is not an ID token of this issuer');
  const hintAudience = typeof claims?.aud === 'string' ? claims.aud : undefined;
  const clientId = params.get('client_id') ?? hintAudience;
  if (params.has('client_id') && hintAudience && params.get('client_id') !== hintAudience) {
    return errorPage(c, 'invalid_request', 'client_id does not match id_token_hint');
  }

  const redirect = params.get('post_logout_redirect_uri');
  if (redirect) {
    const client = clientId ? await findClient(context.db, clientId) : undefined;
    if (!client || !client.metadata.post_logout_redirect_uris.includes(redirect)) {
      return errorPage(c, 'invalid_request', 'post_logout_redirect_uri is not registered for this application');
    }
  }

  const confirmed = claims !== undefined || (c.req.method === 'POST' && params.get('confirm') === 'yes');
  if (!confirmed) {
    const hidden = Object.fromEntries([...params].filter(([name]) => name !== 'confirm'));
    // The confirming POST is redirected to the client: CSP form-action must allow where it goes.
    const formTargets = redirect ? [formTarget(redirect)] : [];
    return respondHtml(c, (nonce) => LogoutConfirmPage({ locale, action: '/logout', hiddenFields: { ...hidden, confirm: 'yes' }, nonce }), { formTargets });
  }

  const cookie = sessionCookieValue(c);
  if (cookie) await deleteSession(context.db, await sha256(cookie));
  clearSessionCookie(c, context);
  if (redirect) {
    const url = new URL(redirect);
    const state = params.get('state');
    if (state) url.searchParams.set('state', state);
    return c.redirect(url.href, 302);
  }
  const strings = t(locale);
  return respondHtml(c, (nonce) => MessagePage({ locale, title: strings.signedOutTitle, message: strings.signedOutMessage, status: 'info', nonce }));
}

export const endSession = new Hono<AppEnv>().get('/', logout).post('/', logout);
