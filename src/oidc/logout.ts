/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2–3).
 * The session ends without asking only when the id_token_hint vouches for
 * the very user of this browser's session (or there is no session to end);
 * any other request, say a link carrying some other user's ID token, gets
 * this site's confirmation form, which posts to the confirmation path
 * (guarded against cross-site posts). A post_logout_redirect_uri is only
 * followed when registered for the client.
 */
import { Hono } from 'hono';
import { bridge, type AppContext, type AppEnv } from '../context';
import { sha256 } from '../crypto';
import { clearSessionCookie, currentSession, sessionCookieValue, sessionEnded } from '../login/session';
import { subjectFor } from '../identity/pairwise';
import { PATHS } from '../paths';
import { findClient } from '../store/clients';
import { deleteSession } from '../store/sessions';
import { verifyIdTokenHint } from '../tokens/jwt';
import { pickLocale, t } from '../ui/i18n';
import { LogoutConfirmPage, MessagePage } from '../ui/message-page';
import { allowFormTarget, errorPage, renderPage } from '../web/pages';
import { requestParams } from '../web/request';

/** A CSP source for a redirect target: its origin, or its scheme for a native app's private-use URI. */
function formTarget(uri: string): string {
  const url = new URL(uri);
  return url.origin === 'null' ? url.protocol : url.origin;
}

/**
 * RP-Initiated Logout §2 ("the OP SHOULD ask the End-User whether to log
 * out"), §6: a hint is a token anyone who ever held it can replay, so it only
 * speaks for the user it names. The question may be skipped when a valid hint
 * of a known client names the session's own user (by the sub that client
 * was given), or when there is no
 * session to end (only the client's registered redirect follows).
 */
export function endsWithoutAsking(hint: { sub?: string; clientKnown: boolean } | undefined, sessionSub: string | undefined): boolean {
  if (!hint?.clientKnown || !hint.sub) return false;
  return sessionSub === undefined || sessionSub === hint.sub;
}

async function logout(c: AppContext, confirmed: boolean) {
  const context = bridge(c);
  const params = await requestParams(c);
  const locale = pickLocale(params.get('ui_locales'), c.req.header('Accept-Language'));

  const hint = params.get('id_token_hint');
  const claims = hint ? await verifyIdTokenHint(await context.keys(), context.config.issuer, hint) : undefined;
  if (hint && !claims) return errorPage(c, 'invalid_request', 'id_token_hint is not an ID token of this issuer');
  const hintAudience = typeof claims?.aud === 'string' ? claims.aud : undefined;
  const clientId = params.get('client_id') ?? hintAudience;
  if (params.has('client_id') && hintAudience && params.get('client_id') !== hintAudience) {
    return errorPage(c, 'invalid_request', 'client_id does not match id_token_hint');
  }

  const [client, current] = await Promise.all([clientId ? findClient(context.db, clientId) : undefined, currentSession(c, context)]);
  const redirect = params.get('post_logout_redirect_uri');
  if (redirect && !client?.metadata.post_logout_redirect_uris.includes(redirect)) {
    return errorPage(c, 'invalid_request', 'post_logout_redirect_uri is not registered for this application');
  }

  const hinted = claims && {
    sub: typeof claims.sub === 'string' ? claims.sub : undefined,
    clientKnown: client !== undefined && client.clientId === hintAudience,
  };
  // The session's user as the hint's client knows them: a pairwise client was given a sub of its own.
  const sessionSub = current && (client ? await subjectFor(context.config.pairwiseSecret, client, current.session.userId) : current.session.userId);
  if (!confirmed && !endsWithoutAsking(hinted ?? undefined, sessionSub)) {
    // The confirming POST is redirected to the client: CSP form-action must allow where it goes.
    if (redirect) allowFormTarget(c, formTarget(redirect));
    const hiddenFields = Object.fromEntries(params);
    return renderPage(c, (nonce) => LogoutConfirmPage({ locale, action: PATHS.endSessionConfirmation, hiddenFields, nonce }));
  }

  const cookie = sessionCookieValue(c, context);
  if (cookie) await deleteSession(context.db, await sha256(cookie));
  // Back-Channel Logout 1.0 §2.5: the clients of the session that ended are told.
  if (current) await sessionEnded(context, current.session);
  clearSessionCookie(c, context);
  if (redirect) {
    const url = new URL(redirect);
    const state = params.get('state');
    if (state) url.searchParams.set('state', state);
    return c.redirect(url.href, 302);
  }
  const strings = t(locale);
  return renderPage(c, (nonce) => MessagePage({ locale, title: strings.signedOutTitle, message: strings.signedOutMessage, status: 'info', nonce }));
}

export const endSession = new Hono<AppEnv>().get('/', (c) => logout(c, false)).post('/', (c) => logout(c, false));

/** The confirmation form's target: the person said yes on this site's page. */
export const endSessionConfirmation = new Hono<AppEnv>().post('/', (c) => logout(c, true));
