/**
 * The production entry (`main` in wrangler.toml): the app, reaching WeChat
 * over the network, the scheduled purge, and the deliveries queue's consumer.
 */
import { createApp } from './app';
import type { Env } from './config';
import { deliver } from './notify/consumer';
import { scheduled } from './scheduled';

const app = createApp({ wechatTransport: () => (request) => fetch(request) });

export default { fetch: app.fetch, scheduled, queue: deliver } satisfies ExportedHandler<Env>;
