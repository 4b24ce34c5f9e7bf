/**
 * The browser's login session: an HttpOnly cookie whose value is random and
 * whose SHA-256 names a D1 row. It lets `prompt=none` and `max_age` work,
 * and RP-initiated logout end it. Also the cookie that ties a pending login
 * to the browser that started it.
 */
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppContext, Bridge } from '../context';
import { randomId, sha256 } from '../crypto';
import { loginPath } from '../paths';
import { findSession, insertSessionStatement, type Session } from '../store/sessions';

const SESSION_COOKIE = 'bridge_session';

const secure = (bridge: Bridge) => bridge.config.issuer.startsWith('https:');

export async function currentSession(c: AppContext, bridge: Bridge) {
  const value = getCookie(c, SESSION_COOKIE);
  if (!value || value.length > 100) return undefined;
  return findSession(bridge.db, await sha256(value), bridge.now);
}

/** A new session: the statement to write it, and the cookie to set once it is written. */
export async function newSession(bridge: Bridge, fields: Omit<Session, 'idHash' | 'expiresAt'>) {
  const value = randomId(32);
  const ttl = bridge.config.ttl.session;
  const session: Session = { ...fields, idHash: await sha256(value), expiresAt: bridge.now + ttl };
  return {
    statement: insertSessionStatement(bridge.db, session),
    setCookie: (c: AppContext) => setCookie(c, SESSION_COOKIE, value, { httpOnly: true, secure: secure(bridge), sameSite: 'Lax', path: '/', maxAge: ttl }),
  };
}

export function clearSessionCookie(c: AppContext, bridge: Bridge): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secure(bridge) });
}

export const sessionCookieValue = (c: AppContext) => getCookie(c, SESSION_COOKIE);

/** The cookie that ties a pending login to the browser that started it, scoped to the login's pages. */
export const browserCookieName = (loginId: string) => `bridge_login_${loginId}`;

export function setBrowserCookie(c: AppContext, bridge: Bridge, loginId: string, value: string, maxAge: number): void {
  setCookie(c, browserCookieName(loginId), value, { httpOnly: true, secure: secure(bridge), sameSite: 'Lax', path: loginPath(loginId), maxAge });
}

export function clearBrowserCookie(c: AppContext, bridge: Bridge, loginId: string): void {
  deleteCookie(c, browserCookieName(loginId), { path: loginPath(loginId), secure: secure(bridge) });
}
