/**
 * The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core
 * §3.1.2). A browser with a fresh enough session gets its code at once;
 * otherwise the request becomes a pending login that the mini program
 * approves (SPEC.md §5), bound to this browser by a cookie.
 */
import { Hono } from 'hono';
import { bridge, type AppContext, type AppEnv, type Bridge } from '../context';
import { findClient } from '../store/clients';
import { putAuthorizationCode, putPendingLogin, type AuthorizationCode, type PendingLogin } from '../store/pending';
import { randomId, sha256 } from '../tokens/crypto';
import { errorPage } from '../ui/respond';
import {
  checkAuthorizationRequest,
  checkRedirectTarget,
  FatalAuthorizationError,
  RedirectableAuthorizationError,
  redirectWith,
  type AuthorizationRequest,
} from './authorization-request';
import { loginPath } from './discovery';
import { OAuthError } from './errors';
import { formBody, formParams } from './request';
import { currentSession, setBrowserCookie } from './session';

/** How long a pending browser login waits for the mini program. */
export const PENDING_LOGIN_TTL = 600;
/** RFC 6749 §4.1.2: short-lived; KV's minimum TTL is 60 s. */
const CODE_TTL = 60;

async function authorize(c: AppContext) {
  const context = bridge(c);
  const params = formParams(c.req.method === 'POST' ? await postedParams(c) : new URL(c.req.url).searchParams);

  let target;
  try {
    const clientId = params.get('client_id');
    target = checkRedirectTarget(clientId ? await findClient(context.db, clientId) : undefined, params);
  } catch (error) {
    if (error instanceof FatalAuthorizationError) return errorPage(c, error.error, error.description);
    throw error;
  }
  const { client, redirectUri } = target;
  const back = (result: Record<string, string | undefined>) => c.redirect(redirectWith(redirectUri, context.config.issuer, result), 302);

  let request: AuthorizationRequest;
  try {
    request = checkAuthorizationRequest(client, redirectUri, params);
  } catch (error) {
    if (error instanceof RedirectableAuthorizationError) {
      return back({ error: error.error, error_description: error.description, state: params.get('state') });
    }
    throw error;
  }

  // OpenID Connect Core §3.1.2.3: reuse the session unless the request asks for a new login.
  const current = await currentSession(c, context);
  const fresh =
    current !== undefined &&
    !request.prompt.has('login') &&
    (request.maxAge === undefined || context.now - current.session.authTime <= request.maxAge);
  if (fresh) {
    const { session, subject } = current;
    const code = await issueAuthorizationCode(context, request, { subject, authTime: session.authTime, amr: session.amr.split(' ') });
    return back({ code, state: request.state });
  }
  if (request.prompt.has('none')) {
    return back({ error: 'login_required', error_description: 'the user is not logged in', state: request.state });
  }

  const browserSecret = randomId(32);
  const login: PendingLogin = {
    id: randomId(24),
    clientId: client.clientId,
    scopes: request.scopes,
    expiresAt: context.now + PENDING_LOGIN_TTL,
    authorization: {
      redirectUri,
      state: request.state,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      browserHash: await sha256(browserSecret),
      uiLocales: request.uiLocales,
    },
  };
  await putPendingLogin(context.env.KV, login, context.now);
  setBrowserCookie(c, context, login.id, browserSecret, PENDING_LOGIN_TTL);
  // Post/Redirect/Get: the login page has its own URL, so a reload does not start another login.
  return c.redirect(loginPath(login.id), 303);
}

async function postedParams(c: AppContext): Promise<URLSearchParams> {
  if (!/^application\/x-www-form-urlencoded/i.test(c.req.header('Content-Type') ?? '')) {
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  return formBody(c);
}

/** Who logged in, as an authorization code carries it: the token endpoint then needs no lookup. */
export type Authenticated = Pick<AuthorizationCode, 'subject' | 'authTime' | 'amr'>;

type CodeRequest = Pick<AuthorizationRequest, 'clientId' | 'redirectUri' | 'codeChallenge' | 'nonce' | 'scopes'>;

export async function issueAuthorizationCode(context: Bridge, request: CodeRequest, who: Authenticated): Promise<string> {
  const code = randomId(32);
  await putAuthorizationCode(
    context.env.KV,
    await sha256(code),
    {
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      nonce: request.nonce,
      scopes: request.scopes,
      ...who,
      expiresAt: context.now + CODE_TTL,
    },
    context.now,
  );
  return code;
}

export const authorization = new Hono<AppEnv>().get('/', authorize).post('/', authorize);
