/**
 * WeChat's own web logins (docs/protocol.md §5a): an Official Account's
 * authorization inside WeChat's browser, and a Website App's QR login on a
 * desktop. The login leaves for WeChat's page with a `state` bound to the
 * pending login and, by a cookie, to this browser; it comes back to the
 * callback, which answers the pending login as the mini program's approval
 * does, and the browser continues to the client the same way.
 */
import type { SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { bridge, type AppContext, type AppEnv } from '../context';
import { randomId, sha256, timingSafeEqualStrings } from '../crypto';
import { loginPath, PATHS } from '../paths';
import { approvalStatements, findApproval, insertApproval } from '../store/approvals';
import { findClient } from '../store/clients';
import { isUniqueViolation } from '../store/db';
import { bindLogin, boundUserId, isKnownWeChatAccount } from '../store/identities';
import { getPendingLogin } from '../store/pending-logins';
import { getWebAuthorization, putWebAuthorization } from '../store/web-authorizations';
import { errorPage } from '../web/pages';
import { webAuthorizationUrl, type WebScope } from '../wechat';
import { stateCookie } from './cookies';
import { announceBinding } from './life-cycle';
import { pendingFor } from './pending';
import { isWeChatCode, loginApp } from './wechat-apps';

export type WebDoor = 'officialaccount' | 'website';

const isWebDoor = (value: string): value is WebDoor => value === 'officialaccount' || value === 'website';

/** WeChat takes at most 128 bytes of [a-zA-Z0-9] as `state`. */
const STATE = /^[A-Za-z0-9]{1,128}$/;
const STATE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 32 characters of 62: 190 bits. */
function newState(): string {
  const letters: string[] = [];
  while (letters.length < 32) {
    // Rejection sampling keeps each character equally likely.
    for (const byte of crypto.getRandomValues(new Uint8Array(48))) if (byte < 248 && letters.length < 32) letters.push(STATE_ALPHABET[byte % 62]!);
  }
  return letters.join('');
}

const expired = (c: AppContext) =>
  errorPage(c, 'login_expired', 'this login has expired or belongs to another browser; start again from the application', 404);

/**
 * `GET /login/<id>/wechat/<door>`: leaves for WeChat's page. An Official
 * Account asks silently (snsapi_base) unless a profile is wanted (the
 * `profile` scope, or `?profile` when the silent round met someone new).
 */
export const webDoors = new Hono<AppEnv>().get('/:id/wechat/:door', async (c) => {
  const context = bridge(c);
  const { config, now } = context;
  const door = c.req.param('door');
  const login = await pendingFor(c, context);
  if (!isWebDoor(door) || !login?.authorization) return expired(c);
  const client = await findClient(context.db, login.clientId);
  const app = client && loginApp(config, client, door);
  if (!app) return errorPage(c, 'not_found', 'this way of signing in is not available for this application', 404);

  const profile = login.scopes.includes('profile') || c.req.query('profile') !== undefined;
  const scope: WebScope = door === 'website' ? 'snsapi_login' : profile ? 'snsapi_userinfo' : 'snsapi_base';
  const state = newState();
  const secret = randomId(32);
  const maxAge = login.expiresAt - now;
  await putWebAuthorization(context.env.KV, state, { loginId: login.id, appid: app.appid, scope, browserHash: await sha256(secret), expiresAt: login.expiresAt }, now);
  stateCookie(config, state).set(c, secret, maxAge);
  const redirectUri = `${config.issuer}${PATHS.wechatCallback}`;
  return c.redirect(webAuthorizationUrl(c.var.wechatWebOrigin(config.issuer), app, { redirectUri, scope, state }), 302);
});

/**
 * `GET /wechat/callback?code&state`: WeChat's way back. Only the browser that
 * left with this `state` may use it; the login is checked before WeChat is
 * called, so a stale or replayed callback spends nothing; the code is
 * exchanged once, never retried; the approval row is the once-only guard.
 */
export const webCallback = new Hono<AppEnv>().get('/', async (c) => {
  const context = bridge(c);
  const { db, env, config, now } = context;
  const state = c.req.query('state') ?? '';
  const code = c.req.query('code');
  if (!STATE.test(state)) return errorPage(c, 'invalid_request', 'state is missing or malformed');
  const authorization = await getWebAuthorization(env.KV, state, now);
  const cookie = stateCookie(config, state);
  const secret = cookie.read(c);
  if (!authorization || !secret || !(await timingSafeEqualStrings(await sha256(secret), authorization.browserHash))) {
    return errorPage(c, 'login_expired', 'this sign-in has expired or was started in another browser; start again from the application', 400);
  }
  cookie.clear(c);
  const { loginId } = authorization;
  const [pending, answered] = await Promise.all([getPendingLogin(env.KV, loginId, now), findApproval(db, loginId)]);
  if (!pending?.authorization) return expired(c);
  if (answered) return errorPage(c, 'login_already_used', 'this login was already answered', 409);
  const app = config.wechatApps.find((candidate) => candidate.appid === authorization.appid);
  if (!app) return errorPage(c, 'server_error', 'the WeChat app of this sign-in is no longer configured', 500);

  const answer = (approved: boolean, userId: string | SQL | null) => ({
    event: approved ? ('login.approved' as const) : ('login.denied' as const),
    actor: 'user' as const,
    userId,
    clientId: pending.clientId,
    detail: { door: app.kind, appid: app.appid },
  });
  try {
    if (code === undefined) {
      // WeChat's way of saying the person refused: the state, and no code.
      await insertApproval(db, { loginId, approved: false, userId: null, wechatAppid: null, wechatOpenid: null, authTime: now }, answer(false, null));
      return c.redirect(`${loginPath(loginId)}/continue`, 303);
    }
    if (!isWeChatCode(code)) return errorPage(c, 'invalid_grant', 'the WeChat code is invalid');
    const identity = await context.wechat().webLogin(app, code, { profile: authorization.scope !== 'snsapi_base' });
    // The silent round met someone new: ask again, with the page, for the profile and unionid.
    if (authorization.scope === 'snsapi_base' && !(await isKnownWeChatAccount(db, identity))) {
      return c.redirect(`${loginPath(loginId)}/wechat/officialaccount?profile`, 302);
    }
    // The binding this login makes (if any) and the answer: one batch.
    const userId = boundUserId(identity);
    const approval = { loginId, approved: true, userId, wechatAppid: identity.appid, wechatOpenid: identity.openid, authTime: now };
    const { subject, binding } = await bindLogin(db, identity, now, pending.clientId, approvalStatements(db, approval, answer(true, userId)));
    announceBinding(context, { userId: subject.id, clientId: pending.clientId, appid: app.appid, door: app.kind }, binding);
  } catch (error) {
    if (isUniqueViolation(error)) return errorPage(c, 'login_already_used', 'this login was already answered', 409);
    throw error;
  }
  return c.redirect(`${loginPath(loginId)}/continue`, 303);
});
