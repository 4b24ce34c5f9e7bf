/**
 * The development entry (`npm start`, the tests): the same app, with the
 * WeChat sandbox (docs/protocol.md §6) as its WeChat, its routes mounted and
 * its stand-in for the mini program on the login page. Nothing in src/
 * imports this file or src/sandbox/, so `wrangler deploy` ships neither.
 */
import { createApp } from './app';
import { type Env, isLoopbackIssuer } from './config';
import { SANDBOX_PATH, SandboxLoginForm, sandboxRoutes, sandboxTransport } from './sandbox';

const app = createApp({
  wechatTransport: sandboxTransport,
  loginPageAddOn: SandboxLoginForm,
  apiRoutes: [[SANDBOX_PATH, sandboxRoutes]],
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
