/**
 * A pending login's own pages (docs/protocol.md §5): the page that shows how
 * to continue in WeChat, its status (polled), the mini program code, the
 * "open WeChat" link, and, for a browser login, the way back to the client.
 */
import { Hono } from 'hono';
import { bridge, type AppContext, type AppEnv, type Bridge } from '../context';
import { loginPath } from '../paths';
import { findApproval } from '../store/approvals';
import { findClient } from '../store/clients';
import { isUniqueViolation } from '../store/db';
import type { PendingLogin } from '../store/pending-logins';
import { getLoginCode, getLoginScheme, putLoginCode, putLoginScheme } from '../store/login-links';
import { claimStatement } from '../store/single-use';
import { ACR, amrOf, meetsAcr } from '../tokens/acr';
import { newAuthorizationCode } from '../tokens/authorization-code';
import type { Client } from '../types';
import { pickLocale } from '../ui/i18n';
import { LoginPage } from '../ui/login-page';
import { authorizationResponse } from '../web/authorization-response';
import { errorPage, renderPage } from '../web/pages';
import { approvalDoor, loginDoors, UNMET } from './doors';
import { announceLogin, doorOf, loginAudit } from './life-cycle';
import { LOGIN_ID, pendingFor } from './pending';
import { clearBrowserCookie, currentSession, sessionAfterApproval, sessionEnded } from './session';
import { withConsent } from './session-use';
import { loginApp, loginMiniProgram } from './wechat-apps';

/** The mini program page that approves logins (examples/miniprogram). */
export const MINI_PROGRAM_PAGE = 'pages/login/login';

const expired = (c: AppContext) => errorPage(c, 'login_expired', 'this login has expired or belongs to another browser; start again from the application', 404);

/** WeChat's built-in browser says so in its User-Agent. */
const inWeChat = (userAgent: string) => /MicroMessenger/i.test(userAgent);
/** A phone or tablet: a QR code on its own screen cannot be scanned. */
const onMobile = (userAgent: string) => /Mobi|Android|iPhone|iPad|HarmonyOS/i.test(userAgent);

/**
 * The page a pending login waits on, whichever URL served it: its own
 * (`/login/<id>`), or the authorization request that started it, which
 * saves the browser a redirect; the page then shows its own URL.
 */
export async function loginPage(c: AppContext, context: Bridge, login: PendingLogin, client: Client) {
  const { config } = context;
  const base = loginPath(login.id);
  const userAgent = c.req.header('User-Agent') ?? '';
  // The door is picked by where the person is (docs/protocol.md §5a) and the acr asked for; only configured doors appear.
  const browser = login.authorization !== undefined;
  const doors = loginDoors(config, client, { browser, inWeChat: inWeChat(userAgent), onMobile: onMobile(userAgent) }, login.authorization?.acr);
  // Offered, not followed: the page shows whom the person signs in to before WeChat's authorization, which for snsapi_base shows nothing.
  const officialAccount = doors.includes('officialaccount');
  const miniProgram = doors.includes('miniprogram_approval') ? loginMiniProgram(config, client) : undefined;
  const website = doors.includes('website') ? loginApp(config, client, 'website') : undefined;
  if (!officialAccount && !miniProgram && !website) {
    // OpenID Connect Core §5.5.1.1: no door here gives the essential acr; the client hears so.
    const request = login.authorization;
    if (request?.acr?.essential) {
      clearBrowserCookie(c, context, login.id);
      return authorizationResponse(c, config.issuer, request, { ...UNMET, state: request.state });
    }
    return errorPage(c, 'server_error', 'no way of signing in with WeChat is configured for this application', 500);
  }
  const locale = pickLocale(login.authorization?.uiLocales, c.req.header('Accept-Language'));
  const addOn = c.get('loginPageAddOn');
  return renderPage(c, (nonce) =>
    LoginPage({
      locale,
      loginId: login.id,
      clientName: client.metadata.client_name ?? client.clientId,
      mode: browser ? 'authorization' : 'device',
      userCode: browser ? undefined : login.id,
      pageUrl: base,
      officialAccountUrl: officialAccount ? `${base}/wechat/officialaccount` : undefined,
      // A mini program code cannot be scanned on the phone that shows it: in WeChat's browser the Official Account replaces it.
      ...(miniProgram && { qrUrl: officialAccount ? undefined : `${base}/qr`, openUrl: `${base}/open` }),
      websiteUrl: website && `${base}/wechat/website`,
      first: doors[0] === 'officialaccount' || doors[0] === 'website' ? doors[0] : undefined,
      statusUrl: `${base}/status`,
      continueUrl: `${base}/continue`,
      addOn: miniProgram && addOn?.({ locale, loginId: login.id, miniprogramAppid: miniProgram.appid, nonce }),
      nonce,
    }),
  );
}

export const loginPages = new Hono<AppEnv>()
  .get('/:id', async (c) => {
    const context = bridge(c);
    const login = await pendingFor(c, context);
    const client = login && (await findClient(context.db, login.clientId));
    if (!login || !client) return expired(c);
    return loginPage(c, context, login, client);
  })
  .get('/:id/continue', async (c) => {
    const context = bridge(c);
    const id = c.req.param('id');
    // Read together, one round trip: the login (with this browser's right to it), its answer, the browser's session.
    const [login, answer, current] = await Promise.all([
      pendingFor(c, context),
      LOGIN_ID.test(id) ? findApproval(context.db, id) : undefined,
      currentSession(c, context),
    ]);
    const request = login?.authorization;
    if (!login || !request) return expired(c);
    if (!answer) return c.redirect(loginPath(login.id), 303);
    const back = (result: Record<string, string | undefined>) => {
      clearBrowserCookie(c, context, login.id);
      return authorizationResponse(c, context.config.issuer, request, { ...result, state: request.state });
    };
    const { approval, subject } = answer;
    if (!subject) return back({ error: 'access_denied', error_description: 'the user declined in WeChat' });

    const door = doorOf(context.config, subject.wechat.appid);
    const way = approvalDoor(door);
    // OpenID Connect Core §5.5.1.1: an essential acr this door does not give is a failed login, with nothing written.
    if (!meetsAcr(request.acr, ACR[way])) return back(UNMET);
    const who = { subject, authTime: approval.authTime, amr: amrOf(way) };
    // A new approval renews the same person's session in this browser, keeping what they approved before, or starts one.
    const session = await sessionAfterApproval(c, context, current?.session, {
      userId: subject.id,
      wechatAppid: subject.wechat.appid,
      wechatOpenid: subject.wechat.openid,
      authTime: approval.authTime,
      amr: who.amr.join(' '),
      consents: withConsent(current?.session, subject.id, login.clientId, login.scopes),
    });
    const facts = { userId: subject.id, clientId: login.clientId, appid: subject.wechat.appid, door };
    const { code, statement } = await newAuthorizationCode(context, { ...request, clientId: login.clientId, scopes: login.scopes }, { ...who, sid: session.sid });
    try {
      // One approval, one way back: the session, the code and the right to them are written together, once.
      await context.db.batch([claimStatement(context.db, `login:${login.id}`, null, context.now), ...session.statements, statement, loginAudit(context, facts)]);
    } catch (error) {
      if (isUniqueViolation(error)) return errorPage(c, 'login_already_used', 'this login was already completed', 409);
      throw error;
    }
    announceLogin(context, facts);
    session.setCookie();
    // Another person's session in this browser has ended: the clients it logged in to are told.
    if (current && current.session.userId !== subject.id) await sessionEnded(context, current.session);
    return back({ code });
  })
  .get('/:id/open', async (c) => {
    const context = bridge(c);
    const { env, now } = context;
    const login = await pendingFor(c, context);
    if (!login) return expired(c);
    const [client, cached] = await Promise.all([findClient(context.db, login.clientId), getLoginScheme(env.KV, login.id, now)]);
    const app = client && loginMiniProgram(context.config, client);
    if (!app) return expired(c);
    if (cached) return c.redirect(cached, 302);
    const scheme = await context.wechat().urlScheme(app, {
      path: MINI_PROGRAM_PAGE,
      query: `login=${login.id}`,
      expireSeconds: Math.max(0, login.expiresAt - now),
    });
    // WeChat is asked for a scheme that lives at least as long as the login (src/wechat/links.ts): the login's expiry comes first.
    await putLoginScheme(env.KV, login.id, scheme, login.expiresAt, now);
    return c.redirect(scheme, 302);
  });

/** The login's JSON and image endpoints, which the login page fetches. */
export const loginResources = new Hono<AppEnv>()
  .get('/:id/status', async (c) => {
    const context = bridge(c);
    const login = await pendingFor(c, context);
    if (!login) return c.json({ error: 'login_not_found', error_description: 'no pending login has this id, or it expired' }, 404);
    const answer = await findApproval(context.db, login.id);
    return c.json({ status: answer ? (answer.approval.approved ? 'approved' : 'denied') : 'pending' });
  })
  .get('/:id/qr', async (c) => {
    const context = bridge(c);
    const { env, now } = context;
    const login = await pendingFor(c, context);
    const notFound = () => c.json({ error: 'not_found', error_description: 'no such login' }, 404);
    if (!login) return notFound();
    const [client, cached] = await Promise.all([findClient(context.db, login.clientId), getLoginCode(env.KV, login.id)]);
    const app = client && loginMiniProgram(context.config, client);
    if (!app) return notFound();
    const headers = { 'Content-Type': 'image/png', 'Cache-Control': `private, max-age=${context.config.ttl.pendingLogin}` };
    if (cached) return c.body(cached, 200, headers);
    // wxa/getwxacodeunlimit: the scene is the login id, which is why ids are at most 32 characters.
    const png = await context.wechat().miniProgramCode(app, { scene: login.id, page: MINI_PROGRAM_PAGE });
    await putLoginCode(env.KV, login.id, png, login.expiresAt, now);
    return c.body(png, 200, headers);
  });
