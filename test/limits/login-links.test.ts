/**
 * The mini program code (`wxa/getwxacodeunlimit`) and the "open WeChat" URL
 * Scheme (`wxa/generatescheme`) are made at most once per pending login
 * (docs/protocol.md §5.2, §9): WeChat caps both per day.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { authorizeUrl, Browser, loginIdOf, webClientMetadata } from '../support/browser';
import { register } from '../support/oidc';
import { callsFrom, inject, PATHS } from '../faults/support';
import { freshAddress, from } from './support';

async function startLogin(browser: Browser, address: string) {
  const client = await register(webClientMetadata);
  return loginIdOf(await browser.request(authorizeUrl(client), { headers: from(address) }));
}

describe('the ways into the mini program, once per login', () => {
  it('repeated /qr and /open call WeChat once each and answer the same image and link', async () => {
    const browser = new Browser();
    const address = freshAddress();
    const loginId = await startLogin(browser, address);
    const calls = await callsFrom(PATHS.wxacode, PATHS.scheme);
    const images: string[] = [];
    const links: string[] = [];
    for (let i = 0; i < 3; i++) {
      const qr = await browser.request(`/login/${loginId}/qr`, { headers: from(address) });
      expect(qr.status).toBe(200);
      expect(qr.headers.get('Content-Type')).toBe('image/png');
      images.push(btoa(String.fromCharCode(...new Uint8Array(await qr.arrayBuffer()))));
      const open = await browser.request(`/login/${loginId}/open`, { headers: from(address) });
      expect(open.status).toBe(302);
      links.push(open.headers.get('Location')!);
    }
    expect(await calls()).toEqual({ [PATHS.wxacode]: 1, [PATHS.scheme]: 1 });
    expect(new Set(images).size).toBe(1);
    expect(new Set(links).size).toBe(1);
    expect(links[0]).toMatch(/^weixin:\/\/dl\/business\/\?t=/);

    // Another login gets its own.
    const other = new Browser();
    const otherId = await startLogin(other, address);
    const open = await other.request(`/login/${otherId}/open`, { headers: from(address) });
    expect(open.headers.get('Location')).not.toBe(links[0]);
    expect(await calls()).toEqual({ [PATHS.wxacode]: 1, [PATHS.scheme]: 2 });
  });

  it('the cached link lives no longer than the login, and a failed call is not cached', async () => {
    const browser = new Browser();
    const address = freshAddress();
    const loginId = await startLogin(browser, address);
    await inject(PATHS.scheme, 45011);
    expect((await browser.request(`/login/${loginId}/open`, { headers: from(address) })).status).toBe(503);
    expect(await env.KV.get(`login_scheme:${loginId}`)).toBeNull();
    const calls = await callsFrom(PATHS.scheme);
    expect((await browser.request(`/login/${loginId}/open`, { headers: from(address) })).status).toBe(302);
    expect(await calls()).toEqual({ [PATHS.scheme]: 1 });
    const login = await env.KV.get<{ expiresAt: number }>(`login:${loginId}`, 'json');
    const cached = await env.KV.get<{ expiresAt: number }>(`login_scheme:${loginId}`, 'json');
    expect(cached!.expiresAt).toBe(login!.expiresAt);
  });

  it('a burst of 20 logins, 40 /open and 40 /qr from one address call WeChat 20 + 20 times, not 40 + 40', async () => {
    const address = freshAddress();
    const client = await register(webClientMetadata);
    const calls = await callsFrom(PATHS.wxacode, PATHS.scheme);
    const logins = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const browser = new Browser();
        return { browser, loginId: await loginIdOf(await browser.request(authorizeUrl(client), { headers: from(address) })) };
      }),
    );
    // Each login's page fetched twice, as a reload does: sequentially, per login.
    await Promise.all(
      logins.map(async ({ browser, loginId }) => {
        for (let i = 0; i < 2; i++) {
          for (const path of ['open', 'qr']) {
            const response = await browser.request(`/login/${loginId}/${path}`, { headers: from(address) });
            expect(response.status).toBeLessThan(400);
            await response.body?.cancel();
          }
        }
      }),
    );
    expect(await calls()).toEqual({ [PATHS.wxacode]: 20, [PATHS.scheme]: 20 });
  });
});
