/**
 * The bridge's cookies, each named by one function that every reader and
 * writer goes through. On an https issuer the names carry the prefixes of
 * RFC 6265bis §4.1.3, which a browser enforces: `__Host-` for a cookie of
 * the whole site (Secure, `Path=/`, no Domain: a sibling subdomain or a
 * plain-http page can neither set nor shadow it), `__Secure-` for one scoped
 * to a path (`__Host-` requires `Path=/`). A loopback http issuer keeps plain
 * names: browsers refuse a prefixed cookie without Secure.
 */
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Config } from '../config';
import type { AppContext } from '../context';
import { loginPath, PATHS } from '../paths';

export interface BridgeCookie {
  name: string;
  read(c: AppContext): string | undefined;
  /** HttpOnly, SameSite=Lax, Secure on https, scoped to the cookie's path. */
  set(c: AppContext, value: string, maxAge: number): void;
  clear(c: AppContext): void;
}

function bridgeCookie(config: Config, base: string, path: string): BridgeCookie {
  const secure = config.issuer.startsWith('https:');
  const name = !secure ? base : path === '/' ? `__Host-${base}` : `__Secure-${base}`;
  return {
    name,
    read: (c) => getCookie(c, name),
    set: (c, value, maxAge) => setCookie(c, name, value, { httpOnly: true, secure, sameSite: 'Lax', path, maxAge }),
    clear: (c) => deleteCookie(c, name, { path, secure }),
  };
}

/** The browser's login session (src/login/session.ts): the whole site. */
export const sessionCookie = (config: Config) => bridgeCookie(config, 'bridge_session', '/');

/** Ties a pending login to the browser that started it: the login's pages only. */
export const browserCookie = (config: Config, loginId: string) => bridgeCookie(config, `bridge_login_${loginId}`, loginPath(loginId));

/** Ties a round trip through WeChat's web pages to this browser (src/login/web-doors.ts): the callback only. */
export const stateCookie = (config: Config, state: string) => bridgeCookie(config, `bridge_wechat_${state}`, PATHS.wechatCallback);
