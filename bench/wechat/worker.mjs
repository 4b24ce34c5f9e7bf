// The WeChat fake of `npm run bench`, as a Worker of its own: the development sandbox's fake
// of api.weixin.qq.com (src/sandbox/wechat-api.ts: the same paths, parameters and JSON as
// WeChat) and its code mint (POST /sandbox/wechat/codes, src/sandbox/routes.ts), nothing else.
// bench/lib/miniflare.mjs bundles it and serves it in a Miniflare (a workerd) of its own, so
// that its work (its KV bookkeeping: minted codes, SNS tokens, call counters, fault queues) is
// not counted as the bridge's. The production-shaped bridge (src/index.ts) reaches it as it
// would reach WeChat: its outbound fetches to https://api.weixin.qq.com go to this worker's
// socket. The peer (bench/peer/server.mjs) calls the same worker over HTTP.
import { Hono } from 'hono';
import { SANDBOX_PATH, sandboxRoutes } from '../../src/sandbox/index.ts';
import { sandboxApi } from '../../src/sandbox/wechat-api.ts';

const app = new Hono();
app.route(SANDBOX_PATH, sandboxRoutes);
app.all('*', (c) => sandboxApi.fetch(c.req.raw, c.env, c.executionCtx));

export default app;
