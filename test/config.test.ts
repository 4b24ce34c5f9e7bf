import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { getConfig, parseConfig, type Env } from '../src/config';
import app from '../src/index';

const withEnv = (override: Partial<Env>): Env => ({ ...env, ...override });

describe('configuration (src/config.ts)', () => {
  it('turns the sandbox on only for a loopback issuer (SPEC.md §6)', () => {
    expect(parseConfig(withEnv({ ISSUER: 'http://localhost:9000', WECHAT_SANDBOX: 'on' })).sandbox).toBe(true);
    expect(parseConfig(withEnv({ ISSUER: 'http://127.0.0.1:9000', WECHAT_SANDBOX: 'on' })).sandbox).toBe(true);
    expect(parseConfig(withEnv({ ISSUER: 'https://id.example.com', WECHAT_SANDBOX: 'on' })).sandbox).toBe(false);
    expect(parseConfig(withEnv({ ISSUER: 'http://localhost:9000', WECHAT_SANDBOX: 'off' })).sandbox).toBe(false);
  });

  it('serves no sandbox route behind a public issuer, whatever WECHAT_SANDBOX says', async () => {
    const publicEnv = withEnv({ ISSUER: 'https://id.example.com', WECHAT_SANDBOX: 'on' });
    const minted = await app.request(
      '/sandbox/wechat/codes',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"kind":"app"}' },
      publicEnv,
    );
    expect(minted.status).toBe(404);
    const discovery = await app.request('/.well-known/openid-configuration', {}, publicEnv);
    expect(await discovery.json()).toMatchObject({ issuer: 'https://id.example.com', token_endpoint: 'https://id.example.com/token' });
  });

  it.each([
    ['an http issuer that is not loopback', { ISSUER: 'http://id.example.com' }, /https/],
    ['an issuer with a query', { ISSUER: 'https://id.example.com/?a=b' }, /query/],
    ['no registration token', { REGISTRATION_TOKEN: '' }, /REGISTRATION_TOKEN/],
    ['WeChat apps that are not an array', { WECHAT_APPS: '{}' }, /array/],
    ['a WeChat app of an unknown kind', { WECHAT_APPS: '[{"appid":"wx1","secret":"s","kind":"web"}]' }, /kind/],
    ['a duplicate appid', { WECHAT_APPS: '[{"appid":"wx1","secret":"s","kind":"app"},{"appid":"wx1","secret":"t","kind":"miniprogram"}]' }, /duplicate/],
  ])('refuses %s, loudly', (_, override, message) => {
    expect(() => parseConfig(withEnv(override))).toThrow(message);
  });

  it('keeps the issuer without a trailing slash', () => {
    expect(parseConfig(withEnv({ ISSUER: 'https://id.example.com/' })).issuer).toBe('https://id.example.com');
  });
});

describe('getConfig', () => {
  it('parses once for the same values, again when they change', () => {
    const first = getConfig(withEnv({}));
    expect(getConfig(withEnv({}))).toBe(first);
    expect(getConfig(withEnv({ ISSUER: 'https://id.example.com' })).issuer).toBe('https://id.example.com');
  });
});
