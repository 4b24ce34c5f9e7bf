/**
 * The browser's login session (issue 3): an HttpOnly cookie whose value is
 * random and whose SHA-256 names a D1 row. It lets `prompt=none` and
 * `max_age` work, and RP-initiated logout end it.
 */
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppContext, Bridge } from '../context';
import { findSession, insertSessionStatement, type Session } from '../store/sessions';
import { randomId, sha256 } from '../tokens/crypto';
import { loginPath } from './discovery';

const SESSION_COOKIE = 'bridge_session';
export const SESSION_TTL = 14 * 24 * 3600;

const secure = (bridge: Bridge) => bridge.config.issuer.startsWith('https:');

export async function currentSession(c: AppContext, bridge: Bridge) {
  const value = getCookie(c, SESSION_COOKIE);
  if (!value || value.length > 100) return undefined;
  return findSession(bridge.db, await sha256(value), bridge.now);
}

/** A new session: the statement to write it, and the cookie to set once it is written. */
export async function newSession(bridge: Bridge, fields: Omit<Session, 'idHash' | 'expiresAt'>) {
  const value = randomId(32);
  const session: Session = { ...fields, idHash: await sha256(value), expiresAt: bridge.now + SESSION_TTL };
  return {
    statement: insertSessionStatement(bridge.db, session),
    setCookie: (c: AppContext) =>
      setCookie(c, SESSION_COOKIE, value, { httpOnly: true, secure: secure(bridge), sameSite: 'Lax', path: '/', maxAge: SESSION_TTL }),
  };
}

export function clearSessionCookie(c: AppContext, bridge: Bridge): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secure(bridge) });
}

export const sessionCookieValue = (c: AppContext) => getCookie(c, SESSION_COOKIE);

/** The cookie that ties a pending login to the browser that started it. */
export const browserCookieName = (loginId: string) => `bridge_login_${loginId}`;

export function setBrowserCookie(c: AppContext, bridge: Bridge, loginId: string, value: string, maxAge: number): void {
  setCookie(c, browserCookieName(loginId), value, { httpOnly: true, secure: secure(bridge), sameSite: 'Lax', path: loginPath(loginId), maxAge });
}

export function clearBrowserCookie(c: AppContext, bridge: Bridge, loginId: string): void {
  deleteCookie(c, browserCookieName(loginId), { path: loginPath(loginId), secure: secure(bridge) });
}
