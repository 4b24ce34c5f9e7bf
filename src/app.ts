/**
 * Wiring only: the app is built from what differs between production and
 * development (how WeChat is reached, what the login page adds, extra
 * routes), and serves two audiences. The JSON endpoints (clients, the mini
 * program, servers) answer uncached JSON, errors included; the pages a
 * person's browser navigates to go out under a per-response CSP nonce, and
 * their errors are pages.
 */
import type { ErrorHandler, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { csrf } from 'hono/csrf';
import { methodNotAllowed } from 'hono/method-not-allowed';
import type { RouterRoute } from 'hono/types';
import { wechatAccount } from './account/wechat-account';
import { adminAudit } from './admin/audit';
import { adminOnly } from './admin/auth';
import { adminUsers } from './admin/users';
import type { Env } from './config';
import type { AppEnv } from './context';
import { OAuthError } from './errors';
import { deviceVerification } from './login/device-verification';
import { domainVerification } from './login/domain-verification';
import { handoff } from './login/handoff';
import { loginPages, loginResources } from './login/pages';
import { isUserCode } from './login/user-codes';
import { webCallback, webDoors } from './login/web-doors';
import { authorization } from './oidc/authorize';
import { clientManagement } from './oidc/client-management';
import { deviceAuthorization } from './oidc/device-authorization';
import { discovery, jwks } from './oidc/discovery';
import { introspection } from './oidc/introspection';
import { endSession, endSessionConfirmation } from './oidc/logout';
import { registration } from './oidc/registration';
import { revocation } from './oidc/revocation';
import { token } from './oidc/token';
import { userinfo } from './oidc/userinfo';
import { PATHS } from './paths';
import type { LoginPageAddOn } from './ui/login-page';
import { jsonError, noStore } from './web/api';
import { formTargets, pageError, pageHeaders } from './web/pages';
import { strictTransport } from './web/transport';
import { rateLimits } from './web/rate-limit';
import { WECHAT_WEB_ORIGIN, type Transport } from './wechat';

export interface AppOptions {
  /** How the WeChat client reaches WeChat in this environment. */
  wechatTransport: (env: Env) => Transport;
  /** Where browsers find WeChat's web authorization pages (default: WeChat's own). */
  wechatWebOrigin?: (issuer: string) => string;
  /** Added to the login page (development: the sandbox's stand-in for the mini program). */
  loginPageAddOn?: LoginPageAddOn;
  /** More JSON routes, by path (development: the sandbox's). */
  apiRoutes?: Mount[];
  /** More pages, by path (development: the sandbox's stand-ins for WeChat's web pages). */
  pageRoutes?: Mount[];
}

type Mount = [path: string, routes: { routes: RouterRoute[] }];

export function createApp(options: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(strictTransport);

  // RFC 9110 §15.5.6: a known path asked with a method it does not serve is 405, with Allow.
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json({ error: 'method_not_allowed', error_description: `this endpoint answers ${methods.join(', ')}` }, 405, { Allow: methods.join(', ') }),
    }),
  );
  const limit = bodyLimit({ maxSize: 64 * 1024, onError: () => { throw new OAuthError('invalid_request', 'the request body is too large', 413); } });
  // No endpoint reads the body of a GET or HEAD; rebuilding such a request with one (as the limit does) is refused by the runtime.
  app.use((c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limit(c, next)));
  app.use(async (c, next) => {
    c.set('wechatTransport', options.wechatTransport(c.env));
    c.set('wechatWebOrigin', options.wechatWebOrigin ?? (() => WECHAT_WEB_ORIGIN));
    if (options.loginPageAddOn) c.set('loginPageAddOn', options.loginPageAddOn);
    await next();
  });

  // Anyone may call these without credentials: each kind counts against its rate limits (docs/protocol.md §9).
  const rateLimit = rateLimits(isUserCode);
  const limited = {
    start: rateLimit('start'),
    login: rateLimit('login'),
    wechat: rateLimit('wechat'),
    handoff: rateLimit({ GET: 'login', POST: 'wechat' }),
    registration: rateLimit('registration'),
  };

  const api = audience(app, [noStore], jsonError);
  // Browser-based clients call these across origins (OpenID Connect Discovery, RFC 6749 §3.2).
  for (const path of [PATHS.discovery, PATHS.jwks, PATHS.token, PATHS.userinfo, PATHS.deviceAuthorization]) app.use(path, cors());
  api(PATHS.discovery, discovery);
  api(PATHS.jwks, jwks);
  api(PATHS.registration, registration, limited.registration);
  api(PATHS.registration, clientManagement, limited.registration);
  api(PATHS.token, token);
  api(PATHS.userinfo, userinfo);
  api(PATHS.revocation, revocation);
  api(PATHS.introspection, introspection);
  api(PATHS.deviceAuthorization, deviceAuthorization, limited.start);
  api(PATHS.handoff, handoff, limited.handoff);
  // Each call exchanges a wx.login code with WeChat, as the handoff's approval does.
  api(PATHS.account, wechatAccount, limited.wechat);
  api(PATHS.login, loginResources, limited.login);
  api('/', domainVerification);
  // The admin API: every route of it behind the admin token.
  api(PATHS.adminUsers, adminUsers, adminOnly);
  api(PATHS.adminAudit, adminAudit, adminOnly);
  for (const [path, routes] of options.apiRoutes ?? []) api(path, routes);

  const pages = audience(app, [noStore, formTargets, pageHeaders], pageError);
  pages(PATHS.authorization, authorization, limited.start);
  pages(PATHS.login, loginPages, limited.login);
  pages(PATHS.endSession, endSession);
  // The logout confirmation is this site's own form: a cross-site post of it is forgery.
  pages(PATHS.endSessionConfirmation, endSessionConfirmation, csrf());
  pages(PATHS.deviceVerification, deviceVerification, limited.login);
  pages(PATHS.login, webDoors, limited.wechat);
  pages(PATHS.wechatCallback, webCallback, limited.wechat);
  for (const [path, routes] of options.pageRoutes ?? []) pages(path, routes);

  app.notFound((c) => c.json({ error: 'not_found', error_description: 'no such endpoint' }, 404));
  app.onError(jsonError);
  return app;
}

/**
 * Mounts route modules with an audience's middleware around exactly their
 * routes, and its error handler. (A sub-app's `use('*')` would reach every
 * path once mounted at `/`.)
 */
function audience(app: Hono<AppEnv>, middleware: MiddlewareHandler<AppEnv>[], onError: ErrorHandler<AppEnv>) {
  return (path: string, routes: { routes: RouterRoute[] }, ...extra: MiddlewareHandler<AppEnv>[]) => {
    const scoped = new Hono<AppEnv>();
    scoped.onError(onError);
    for (const route of routes.routes) {
      // A route module's own middleware (method ALL) stays as it is; its routes get the audience's.
      if (route.method === 'ALL') scoped.all(route.path, route.handler);
      else scoped.on(route.method, [route.path], ...middleware, ...extra, route.handler);
    }
    app.route(path, scoped);
  };
}
