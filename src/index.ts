/** Wiring only: routes, the body limit, and the one place errors are rendered. */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { getConfig } from './config';
import type { AppEnv } from './context';
import { authorization } from './oidc/authorize';
import { deviceAuthorization } from './oidc/device-authorization';
import { deviceVerification } from './oidc/device-verification';
import { discovery, PATHS } from './oidc/discovery';
import { OAuthError } from './oidc/errors';
import { handoff } from './oidc/handoff';
import { introspection } from './oidc/introspection';
import { loginPages } from './oidc/login';
import { endSession } from './oidc/logout';
import { registration } from './oidc/registration';
import { revocation } from './oidc/revocation';
import { token } from './oidc/token';
import { userinfoRoutes } from './oidc/userinfo';
import { pageErrors } from './ui/respond';
import { sandboxRoutes } from './wechat';

const app = new Hono<AppEnv>();

app.use(bodyLimit({ maxSize: 64 * 1024, onError: () => { throw new OAuthError('invalid_request', 'the request body is too large', 413); } }));
// Browser-based clients call these across origins (OpenID Connect Discovery, RFC 6749 §3.2).
app.use('/.well-known/*', cors());
app.use(PATHS.jwks, cors());
app.use(PATHS.token, cors());
app.use(PATHS.userinfo, cors());
app.use(PATHS.deviceAuthorization, cors());

// Routes a person navigates to answer errors with a page (the JSON endpoints of a login keep JSON).
for (const path of [PATHS.authorization, `${PATHS.login}/:id`, `${PATHS.login}/:id/open`, `${PATHS.login}/:id/continue`, PATHS.endSession, PATHS.deviceVerification]) {
  app.use(path, pageErrors);
}

app.route('/', discovery);
app.route(PATHS.registration, registration);
app.route(PATHS.token, token);
app.route(PATHS.userinfo, userinfoRoutes);
app.route(PATHS.revocation, revocation);
app.route(PATHS.introspection, introspection);
app.route(PATHS.authorization, authorization);
app.route(PATHS.login, loginPages);
app.route(PATHS.handoff, handoff);
app.route(PATHS.deviceAuthorization, deviceAuthorization);
app.route(PATHS.deviceVerification, deviceVerification);
app.route(PATHS.endSession, endSession);
app.use(`${PATHS.sandbox}/*`, async (c, next) => {
  // SPEC.md §6: with the sandbox off, its routes do not exist.
  if (!getConfig(c.env).sandbox) return c.json({ error: 'not_found', error_description: 'no such endpoint' }, 404);
  await next();
});
app.route(PATHS.sandbox, sandboxRoutes);

/** The methods some route serves `path` with (RFC 9110 §9.3.2: HEAD wherever GET). */
function allowedMethods(path: string): string[] {
  const methods = new Set(app.routes.map((route) => route.method).filter((method) => method !== 'ALL'));
  const allowed = [...methods].filter((method) => app.router.match(method, path)[0].some(([[, route]]) => route.method === method));
  return allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed;
}

app.notFound((c) => {
  // RFC 9110 §15.5.6: a known path asked with a method it does not serve is 405, with Allow.
  const allowed = allowedMethods(c.req.path);
  if (allowed.length > 0) {
    const list = allowed.join(', ');
    return c.json({ error: 'method_not_allowed', error_description: `this endpoint answers ${list}` }, 405, { Allow: list });
  }
  return c.json({ error: 'not_found', error_description: 'no such endpoint' }, 404);
});

app.onError((error, c) => {
  if (error instanceof OAuthError) return c.json(error.toJSON(), error.status, error.headers);
  // Anything else is the bridge's fault: log it, say nothing of its internals.
  console.error('unhandled error', error instanceof Error ? `${error.name}: ${error.message}` : 'unknown');
  return c.json({ error: 'server_error', error_description: 'the server failed to process the request' }, 500);
});

export default app;
