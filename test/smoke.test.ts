import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { expect, it } from 'vitest';

it('serves and has a migrated D1', async () => {
  const res = await SELF.fetch('http://localhost:8787/health');
  expect(await res.text()).toBe('ok');
  const row = await env.DB.prepare('SELECT count(*) AS n FROM users').first<{ n: number }>();
  expect(row?.n).toBe(0);
});
