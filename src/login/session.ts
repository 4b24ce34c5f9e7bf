/**
 * The browser's login session: an HttpOnly cookie whose value is random and
 * whose SHA-256 names a D1 row. It lets `prompt=none` and `max_age` work,
 * and RP-initiated logout end it. Also the cookie that ties a pending login
 * to the browser that started it.
 */
import type { AppContext, Bridge } from '../context';
import { randomId, sha256 } from '../crypto';
import { logOutRelyingParties } from '../notify/outbox';
import { deleteSessionStatement, findSession, insertSessionStatement, renewSessionStatement, type Session } from '../store/sessions';
import { browserCookie, sessionCookie } from './cookies';

/**
 * The session's `sid` (OpenID Connect Back-Channel Logout 1.0 §2.1):
 * derived from the row key, domain-separated, so it names the session to
 * relying parties while revealing nothing that finds the row, let alone the
 * cookie (the row key is itself a hash of the cookie's 32 random bytes).
 */
export const sessionSid = (idHash: string) => sha256(`backchannel-logout sid\n${idHash}`);

/**
 * Back-Channel Logout 1.0 §2.5: a session has ended, so every client it
 * logged in to (its consents) hears of it, with its `sid`, after the response.
 */
export async function sessionEnded(bridge: Bridge, session: Session): Promise<void> {
  const sid = await sessionSid(session.idHash);
  logOutRelyingParties(bridge, Object.keys(session.consents).map((clientId) => ({ clientId, userId: session.userId, sid })));
}

export async function currentSession(c: AppContext, bridge: Bridge) {
  const value = sessionCookie(bridge.config).read(c);
  if (!value || value.length > 100) return undefined;
  return findSession(bridge.db, await sha256(value), bridge.now);
}

/**
 * The session an approval leaves in this browser (docs/security.md,
 * "Sessions"). The same person's session goes on: its row, cookie and `sid`
 * are kept and its approval, identity, consents and expiry renewed, so the
 * clients that logged in through it keep hearing of its end under the sid
 * they were given. Anyone else's is replaced by a new session with a new
 * cookie. Returns the statements to write, the sid, and the cookie to set
 * once they are written.
 */
export async function sessionAfterApproval(c: AppContext, bridge: Bridge, previous: Session | undefined, fields: Omit<Session, 'idHash' | 'expiresAt'>) {
  // One day from the approval (docs/security.md "Sessions"), however long the browser took to come back.
  const expiresAt = fields.authTime + bridge.config.ttl.session;
  const ttl = Math.max(0, expiresAt - bridge.now);
  const renewed = { ...fields, expiresAt };
  const kept = previous && previous.userId === fields.userId ? sessionCookieValue(c, bridge) : undefined;
  if (previous && kept) {
    return {
      statements: [renewSessionStatement(bridge.db, previous.idHash, renewed)],
      sid: await sessionSid(previous.idHash),
      setCookie: () => sessionCookie(bridge.config).set(c, kept, ttl),
    };
  }
  const value = randomId(32);
  const idHash = await sha256(value);
  const insert = insertSessionStatement(bridge.db, { ...renewed, idHash });
  return {
    statements: previous ? [insert, deleteSessionStatement(bridge.db, previous.idHash)] : [insert],
    sid: await sessionSid(idHash),
    setCookie: () => sessionCookie(bridge.config).set(c, value, ttl),
  };
}

export const clearSessionCookie = (c: AppContext, bridge: Bridge) => sessionCookie(bridge.config).clear(c);

export const sessionCookieValue = (c: AppContext, bridge: Bridge) => sessionCookie(bridge.config).read(c);

export const browserCookieValue = (c: AppContext, bridge: Bridge, loginId: string) => browserCookie(bridge.config, loginId).read(c);

export const setBrowserCookie = (c: AppContext, bridge: Bridge, loginId: string, value: string, maxAge: number) =>
  browserCookie(bridge.config, loginId).set(c, value, maxAge);

export const clearBrowserCookie = (c: AppContext, bridge: Bridge, loginId: string) => browserCookie(bridge.config, loginId).clear(c);
