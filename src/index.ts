/** The production entry (`main` in wrangler.toml): the app, reaching WeChat over the network. */
import { createApp } from './app';

export default createApp({ wechatTransport: () => (request) => fetch(request) });
