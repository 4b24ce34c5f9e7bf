/** The Official Account's domain verification file (docs/protocol.md §5a), as WeChat fetches it. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { parseConfig, type Env } from '../../src/config';
import dev from '../../src/dev';

const executionContext = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const fetchWith = (path: string, override: Partial<Env>, method = 'GET') =>
  dev.fetch(new Request(`http://localhost:8787${path}`, { method }), { ...env, ...override }, executionContext);

describe('MP_verify_<token>.txt at the root', () => {
  it('serves the configured token, as text, at its own name only', async () => {
    const served = await fetchWith('/MP_verify_Ab12Cd34.txt', { WECHAT_MP_VERIFY: 'Ab12Cd34' });
    expect(served.status).toBe(200);
    expect(served.headers.get('Content-Type')).toMatch(/^text\/plain/);
    expect(await served.text()).toBe('Ab12Cd34');
    for (const other of ['/MP_verify_Other99.txt', '/MP_verify_ab12cd34.txt']) {
      expect((await fetchWith(other, { WECHAT_MP_VERIFY: 'Ab12Cd34' })).status, other).toBe(404);
    }
  });

  it('is not served at all when no token is configured', async () => {
    const response = await fetchWith('/MP_verify_Ab12Cd34.txt', { WECHAT_MP_VERIFY: undefined });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });

  it.each(['has space', 'a/b', 'x'.repeat(65), 'MP_verify_x.txt'])('refuses a token that cannot be a file name (%s), loudly', (token) => {
    expect(() => parseConfig({ ...env, WECHAT_MP_VERIFY: token })).toThrow(/WECHAT_MP_VERIFY/);
  });
});
