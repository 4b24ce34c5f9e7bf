/**
 * Every request is routed: the app's routes must all fit hono's fastest
 * router (RegExpRouter: one regular expression per method), or hono falls
 * back, for every route, to its trie router, which the profiles showed at
 * about a quarter of a userinfo request's JavaScript time.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';

describe('routing', () => {
  it('runs on RegExpRouter, and still finds the routes that once needed the fallback', async () => {
    const app = createApp({ wechatTransport: () => (request) => fetch(request) });
    const discovery = await app.request('/.well-known/openid-configuration', {}, env);
    expect(discovery.status).toBe(200);
    expect(app.router.name).toBe('SmartRouter + RegExpRouter');
    // The domain verification file, at the root by a prefix: unknown files are 404, as is the bare prefix.
    expect((await app.request('/MP_verify_unknownToken0.txt', {}, env)).status).toBe(404);
    expect((await app.request('/MP_verify_', {}, env)).status).toBe(404);
    expect((await app.request('/userinfo', {}, env)).status).toBe(401);
  });
});
