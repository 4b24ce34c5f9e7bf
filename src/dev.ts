/**
 * The development entry (`npm start`, the tests): the same app, with the
 * WeChat sandbox (docs/protocol.md §6) as its WeChat, its routes and its
 * stand-ins for WeChat's web pages mounted, and its stand-in for the mini
 * program on the login page. Nothing in src/
 * imports this file or src/sandbox/, so `wrangler deploy` ships neither.
 */
import { createApp } from './app';
import { type Env, isLoopbackIssuer } from './config';
import { SANDBOX_PATH, SandboxLoginForm, sandboxPages, sandboxRoutes, sandboxTransport } from './sandbox';

const app = createApp({
  wechatTransport: sandboxTransport,
  // The sandbox's stand-ins for WeChat's web authorization pages, on this origin.
  wechatWebOrigin: (issuer) => `${issuer}${SANDBOX_PATH}`,
  loginPageAddOn: SandboxLoginForm,
  apiRoutes: [[SANDBOX_PATH, sandboxRoutes]],
  pageRoutes: [[SANDBOX_PATH, sandboxPages]],
});

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    // The sandbox mints any identity: it must never serve a public issuer.
    if (!isLoopbackIssuer(env.ISSUER)) {
      console.error('the development entry (src/dev.ts) serves a loopback issuer only');
      return Response.json({ error: 'server_error', error_description: 'the server failed to process the request' }, { status: 500 });
    }
    return app.fetch(request, env, ctx);
  },
};
