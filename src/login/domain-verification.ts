/**
 * The Official Account's web authorization domain (docs/protocol.md §5a):
 * WeChat proves the operator owns it by fetching `MP_verify_<token>.txt` at
 * the domain's root, expecting the token. The operator sets the token
 * (`WECHAT_MP_VERIFY`); any other such file is unknown.
 */
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';

// A prefix and a wildcard, not a parameter with a pattern: hono's fastest router (RegExpRouter) takes this route.
export const domainVerification = new Hono<AppEnv>().get('/MP_verify_*', (c) => {
  const token = bridge(c).config.mpVerify;
  if (!token || c.req.path !== `/MP_verify_${token}.txt`) {
    return c.json({ error: 'not_found', error_description: 'no such endpoint' }, 404);
  }
  return c.text(token, 200, { 'Cache-Control': 'public, max-age=3600' });
});
