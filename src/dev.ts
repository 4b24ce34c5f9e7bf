/**
 * The development entry (`npm start`, the tests): the same app, with the
 * WeChat sandbox (docs/protocol.md §6) as its WeChat, its routes and its
 * stand-ins for WeChat's web pages mounted, and its stand-in for the mini
 * program on the login page; the same scheduled purge and deliveries. Nothing in src/
 * imports this file or src/sandbox/, so `wrangler deploy` ships neither.
 */
import { createApp } from './app';
import { type Env, isLoopbackIssuer } from './config';
import { deliver } from './notify/consumer';
import { SANDBOX_PATH, SandboxLoginForm, sandboxPages, sandboxRoutes, sandboxTransport } from './sandbox';
import { scheduled } from './scheduled';

const app = createApp({
  wechatTransport: sandboxTransport,
  // The sandbox's stand-ins for WeChat's web authorization pages, on this origin.
  wechatWebOrigin: (issuer) => `${issuer}${SANDBOX_PATH}`,
  loginPageAddOn: SandboxLoginForm,
  apiRoutes: [[SANDBOX_PATH, sandboxRoutes]],
  pageRoutes: [[SANDBOX_PATH, sandboxPages]],
});

const LOOPBACK_ONLY = 'the development entry (src/dev.ts) serves a loopback issuer only';

// The sandbox mints any identity: this entry must never serve, nor touch the data of, a public issuer.
export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    if (!isLoopbackIssuer(env.ISSUER)) {
      console.error(LOOPBACK_ONLY);
      return Response.json({ error: 'server_error', error_description: 'the server failed to process the request' }, { status: 500 });
    }
    return app.fetch(request, env, ctx);
  },
  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    if (!isLoopbackIssuer(env.ISSUER)) throw new Error(LOOPBACK_ONLY);
    await scheduled(controller, env);
  },
  async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
    if (!isLoopbackIssuer(env.ISSUER)) throw new Error(LOOPBACK_ONLY);
    await deliver(batch, env);
  },
};
