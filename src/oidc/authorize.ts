/**
 * The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core
 * §3.1.2). A browser with a fresh enough session gets its code at once;
 * otherwise the request becomes a pending login that the mini program
 * approves (docs/protocol.md §5), bound to this browser by a cookie.
 */
import { Hono } from 'hono';
import { bridge, type AppContext, type AppEnv } from '../context';
import { OAuthError } from '../errors';
import { canMeetAcr, UNMET } from '../login/doors';
import { loginPage } from '../login/pages';
import { startBrowserLogin } from '../login/pending';
import { loginAudit } from '../login/life-cycle';
import { currentSession, sessionSid } from '../login/session';
import { sessionAnswer } from '../login/session-use';
import { loginPath } from '../paths';
import { findClient } from '../store/clients';
import { newAuthorizationCode } from '../tokens/authorization-code';
import { authorizationResponse } from '../web/authorization-response';
import { requestParams } from '../web/request';
import { checkAuthorizationRequest, checkRedirectTarget, errorResponseMode, type AuthorizationRequest } from './authorization-request';

async function authorize(c: AppContext) {
  const context = bridge(c);
  const params = await requestParams(c);

  // Until these are known good, a failure is this page's error page (the audience's error handler).
  const clientId = params.get('client_id');
  const { client, redirectUri } = checkRedirectTarget(clientId ? await findClient(context.db, clientId) : undefined, params);
  const target = { redirectUri, responseMode: errorResponseMode(params, redirectUri), uiLocales: params.get('ui_locales') };
  const back = (result: Record<string, string | undefined>) => authorizationResponse(c, context.config.issuer, target, result);

  let request: AuthorizationRequest;
  try {
    request = checkAuthorizationRequest(client, redirectUri, params);
  } catch (error) {
    if (error instanceof OAuthError) return back({ error: error.error, error_description: error.description, state: params.get('state') });
    throw error;
  }
  if (!canMeetAcr(context.config, client, request.acr)) {
    return back({ ...UNMET, state: request.state });
  }

  // OpenID Connect Core §3.1.2.3: the session answers what the person already approved in it; nothing more.
  const current = await currentSession(c, context);
  const answer = sessionAnswer(current?.session, request, context.now);
  if (answer.silent) {
    const { session, subject } = current!;
    const who = { subject, authTime: session.authTime, amr: session.amr.split(' '), sid: await sessionSid(session.idHash) };
    const { code, statement } = await newAuthorizationCode(context, request, who);
    await statement.run();
    // Nothing else is written here: the audit entry goes after the response, not before it.
    context.defer(loginAudit(context, { userId: subject.id, clientId: request.clientId, appid: session.wechatAppid, door: 'session' }).run());
    return back({ code, state: request.state });
  }
  if (request.prompt.has('none')) {
    const why = answer.error === 'login_required' ? 'the user is not logged in' : 'the user has not approved this application and scope here';
    return back({ error: answer.error, error_description: why, state: request.state });
  }

  const { clientId: id, scopes, state, nonce, codeChallenge, uiLocales, responseMode, acr } = request;
  const login = await startBrowserLogin(c, context, { clientId: id, scopes, redirectUri, state, nonce, codeChallenge, uiLocales, responseMode, acr });
  // A GET is answered with the login page itself (one redirect fewer), which then shows its own URL, so a
  // reload does not start another login. A POST is Post/Redirect/Get: the page is reloaded by its own URL.
  if (c.req.method === 'POST') return c.redirect(loginPath(login.id), 303);
  return loginPage(c, context, login, client);
}

export const authorization = new Hono<AppEnv>().get('/', authorize).post('/', authorize);
