import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DEV_ADMIN_TOKEN, DEV_REGISTRATION_TOKEN, getConfig, parseConfig, type Env } from '../src/config';
import dev from '../src/dev';
import production from '../src/index';

const HOOK = { url: 'https://hooks.example/in', secret: `whsec_${btoa('k'.repeat(32))}`, events: ['user.created'] };

const withEnv = (override: Partial<Env>): Env => ({ ...env, ...override });

const executionContext = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

describe('configuration (src/config.ts)', () => {
  it.each<[string, Partial<Env>, RegExp]>([
    ['an http issuer that is not loopback', { ISSUER: 'http://id.example.com' }, /https/],
    ['an issuer with a query', { ISSUER: 'https://id.example.com/?a=b' }, /query/],
    ['no issuer', { ISSUER: '' }, /ISSUER/],
    ['no registration token', { REGISTRATION_TOKEN: '' }, /REGISTRATION_TOKEN/],
    ['the development registration token with a public issuer', { ISSUER: 'https://id.example.com', REGISTRATION_TOKEN: DEV_REGISTRATION_TOKEN }, /development/],
    ['the development admin token with a public issuer', { ISSUER: 'https://id.example.com', ADMIN_TOKEN: DEV_ADMIN_TOKEN }, /ADMIN_TOKEN .*development/],
    ['no pairwise secret', { PAIRWISE_SECRET: '' }, /PAIRWISE_SECRET/],
    ['a pairwise secret shorter than 32 characters', { PAIRWISE_SECRET: 'x'.repeat(31) }, /PAIRWISE_SECRET/],
    ['WeChat apps that are not an array', { WECHAT_APPS: '{}' }, /array/],
    ['a WeChat app of an unknown kind', { WECHAT_APPS: '[{"appid":"wx1","secret":"s","kind":"web"}]' }, /kind/],
    ['a duplicate appid', { WECHAT_APPS: '[{"appid":"wx1","secret":"s","kind":"app"},{"appid":"wx1","secret":"t","kind":"miniprogram"}]' }, /duplicate/],
    ...['0', '-5', '1.5', 'soon', '60001'].map((bad): [string, Partial<Env>, RegExp] => [`WECHAT_TIMEOUT_MS=${bad}`, { WECHAT_TIMEOUT_MS: bad }, /WECHAT_TIMEOUT_MS/]),
    ['WECHAT_RETRY_DELAY_MS=-1', { WECHAT_RETRY_DELAY_MS: '-1' }, /WECHAT_RETRY_DELAY_MS/],
    ...(
      [
        ['webhooks that are not an array', '{}', /WEBHOOKS must be a JSON array/],
        ['a webhook over http to a public host', [{ ...HOOK, url: 'http://hooks.example/in' }], /WEBHOOKS\[0\]\.url/],
        ['a webhook URL with credentials', [{ ...HOOK, url: 'https://user:pass@hooks.example/in' }], /WEBHOOKS\[0\]\.url/],
        ['a webhook secret without whsec_', [{ ...HOOK, secret: HOOK.secret.slice(6) }], /WEBHOOKS\[0\]\.secret/],
        ['a webhook secret that is not base64', [{ ...HOOK, secret: 'whsec_not base64!' }], /WEBHOOKS\[0\]\.secret/],
        ['a webhook secret under 24 bytes', [{ ...HOOK, secret: `whsec_${btoa('x'.repeat(23))}` }], /WEBHOOKS\[0\]\.secret/],
        ['a webhook of an unknown event', [{ ...HOOK, events: ['user.created', 'user.updated'] }], /WEBHOOKS\[0\]\.events/],
        ['a webhook of no events', [{ ...HOOK, events: [] }], /WEBHOOKS\[0\]\.events/],
        ['two webhooks with one URL', [HOOK, HOOK], /duplicate url/],
      ] as const
    ).map(([name, hooks, message]): [string, Partial<Env>, RegExp] => [name, { WEBHOOKS: typeof hooks === 'string' ? hooks : JSON.stringify(hooks) }, message]),
    ...['0', '-1', '2.5', 'forever', '3651'].map((bad): [string, Partial<Env>, RegExp] => [`AUDIT_RETENTION_DAYS=${bad}`, { AUDIT_RETENTION_DAYS: bad }, /AUDIT_RETENTION_DAYS/]),
  ])('refuses %s, loudly', (_, override, message) => {
    expect(() => parseConfig(withEnv(override))).toThrow(message);
  });

  it('takes the development registration token with a loopback issuer', () => {
    expect(parseConfig(withEnv({ ISSUER: 'http://127.0.0.1:9000', REGISTRATION_TOKEN: DEV_REGISTRATION_TOKEN })).registrationToken).toBe(DEV_REGISTRATION_TOKEN);
  });

  it('takes the development admin token with a loopback issuer, and no admin token at all', () => {
    for (const issuer of ['http://localhost:8787', 'http://127.0.0.1:9000', 'http://[::1]:8787']) {
      expect(parseConfig(withEnv({ ISSUER: issuer, ADMIN_TOKEN: DEV_ADMIN_TOKEN })).adminToken).toBe(DEV_ADMIN_TOKEN);
    }
    for (const unset of [undefined, '']) expect(parseConfig(withEnv({ ISSUER: 'https://id.example.com', ADMIN_TOKEN: unset })).adminToken).toBeUndefined();
    expect(parseConfig(withEnv({ ISSUER: 'https://id.example.com', ADMIN_TOKEN: 'a-secret-one' })).adminToken).toBe('a-secret-one');
  });

  it('takes webhooks over https, or http on loopback, and none when WEBHOOKS is unset', () => {
    const local = { ...HOOK, url: 'http://127.0.0.1:9999/hook', events: ['login.succeeded', 'user.deleted', 'login.succeeded'] };
    expect(parseConfig(withEnv({ WEBHOOKS: JSON.stringify([HOOK, local]) })).webhooks).toEqual([HOOK, { ...local, events: ['login.succeeded', 'user.deleted'] }]);
    for (const unset of [undefined, '']) expect(parseConfig(withEnv({ WEBHOOKS: unset })).webhooks).toEqual([]);
  });

  it('keeps audit log entries 180 days unless told otherwise', () => {
    for (const unset of [undefined, '']) expect(parseConfig(withEnv({ AUDIT_RETENTION_DAYS: unset })).ttl.audit).toBe(180 * 86400);
    expect(parseConfig(withEnv({ AUDIT_RETENTION_DAYS: '30' })).ttl.audit).toBe(30 * 86400);
    expect(getConfig(withEnv({ AUDIT_RETENTION_DAYS: '7' })).ttl.audit).toBe(7 * 86400);
  });

  it('keeps the issuer without a trailing slash', () => {
    expect(parseConfig(withEnv({ ISSUER: 'https://id.example.com/' })).issuer).toBe('https://id.example.com');
  });

  it('gives the WeChat client 5 s per attempt and 300 ms before a retry unless told otherwise', () => {
    const defaults = withEnv({ WECHAT_TIMEOUT_MS: undefined, WECHAT_RETRY_DELAY_MS: undefined });
    expect(parseConfig(defaults).wechat).toEqual({ timeoutMs: 5000, retryDelayMs: 300 });
    expect(parseConfig(withEnv({ WECHAT_TIMEOUT_MS: '750', WECHAT_RETRY_DELAY_MS: '0' })).wechat).toEqual({ timeoutMs: 750, retryDelayMs: 0 });
  });
});

describe('getConfig', () => {
  it('parses once for the same values, again when they change', () => {
    const first = getConfig(withEnv({}));
    expect(getConfig(withEnv({}))).toBe(first);
    expect(getConfig(withEnv({ ISSUER: 'https://id.example.com' })).issuer).toBe('https://id.example.com');
    expect(getConfig(withEnv({ WECHAT_TIMEOUT_MS: '1234' })).wechat.timeoutMs).toBe(1234);
    expect(getConfig(withEnv({ WEBHOOKS: JSON.stringify([HOOK]) })).webhooks).toEqual([HOOK]);
    expect(getConfig(withEnv({ ADMIN_TOKEN: 'another-admin-token' })).adminToken).toBe('another-admin-token');
    expect(getConfig(withEnv({})).adminToken).toBe('test-admin-token');
  });
});

describe('the entry points', () => {
  const mintRequest = (url: string) =>
    new Request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"kind":"phone","phone":"+8613800138000"}' });

  it('production (src/index.ts) has no sandbox route, whatever the issuer', async () => {
    for (const issuer of ['http://localhost:8787', 'https://id.example.com']) {
      const response = await production.fetch(mintRequest('http://localhost/sandbox/wechat/codes'), withEnv({ ISSUER: issuer }), executionContext);
      expect(response.status, issuer).toBe(404);
    }
    const discovery = await production.fetch(new Request('https://id.example.com/.well-known/openid-configuration'), withEnv({ ISSUER: 'https://id.example.com' }), executionContext);
    expect(await discovery.json()).toMatchObject({ issuer: 'https://id.example.com', token_endpoint: 'https://id.example.com/token' });
  });

  it('development (src/dev.ts) refuses to serve a public issuer at all', async () => {
    const publicEnv = withEnv({ ISSUER: 'https://id.example.com' });
    for (const path of ['/.well-known/openid-configuration', '/sandbox/wechat/codes']) {
      const response = await dev.fetch(mintRequest(`https://id.example.com${path}`), publicEnv, executionContext);
      expect(response.status, path).toBe(500);
      expect(await response.json()).toEqual({ error: 'server_error', error_description: 'the server failed to process the request' });
    }
  });

  it('development mints sandbox codes only for a request to this machine', async () => {
    const local = await dev.fetch(mintRequest('http://localhost:8787/sandbox/wechat/codes'), env, executionContext);
    expect(local.status).toBe(200);
    // The attack a deployed development build would have met: a public Host header.
    const forwarded = await dev.fetch(mintRequest('https://id.example.com/sandbox/wechat/codes'), env, executionContext);
    expect(forwarded.status).toBe(404);
  });
});

describe("hono's refusals are the client's errors, not the bridge's", () => {
  it('a cross-site post of the sandbox page’s own form is a 403 page, not a 500', async () => {
    const response = await dev.fetch(
      new Request('http://localhost:8787/sandbox/wechat/connect/answer', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://evil.example' },
        body: 'answer=approve',
      }),
      env,
      executionContext,
    );
    expect(response.status, await response.clone().text()).toBe(403);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
  });
});
