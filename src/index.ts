/** The production entry (`main` in wrangler.toml): the app, reaching WeChat over the network, and the scheduled purge. */
import { createApp } from './app';
import type { Env } from './config';
import { scheduled } from './scheduled';

const app = createApp({ wechatTransport: () => (request) => fetch(request) });

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
