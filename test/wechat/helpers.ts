import { env } from 'cloudflare:workers';
import { expect, vi } from 'vitest';
import { getConfig, type WeChatApp } from '../../src/config';
import { OAuthError } from '../../src/errors';
import { sandboxRoutes, sandboxTransport } from '../../src/sandbox';
import { sandboxCallCount } from '../../src/sandbox/wechat-api';
import { createWeChatClient, type Transport, type WeChat } from '../../src/wechat';
import { TEST_APPS } from '../fixtures/apps';

/** The configured apps, by role. */
export function testApp(appid: (typeof TEST_APPS)[number]['appid']): WeChatApp {
  const app = getConfig(env).wechatApps.find((candidate) => candidate.appid === appid);
  if (!app) throw new Error(`${appid} is not configured`);
  return app;
}
export const APP = testApp('wx0000000000app001');
export const MINI = testApp('wx0000000000mini01');
export const MINI2 = testApp('wx0000000000mini02');

/** POST /sandbox/wechat/codes, as the sub-app the lead mounts. */
export async function mintRequest(body: unknown): Promise<Response> {
  return sandboxRoutes.request(
    '/codes',
    { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    env,
  );
}

export async function mint(body: Record<string, unknown>): Promise<{ code: string; appid: string }> {
  const response = await mintRequest(body);
  expect(response.status).toBe(200);
  return response.json();
}

/** The sandbox transport, as the development entry hands it to the app. */
export const sandbox: Transport = sandboxTransport(env);

/** The client as the app builds it: the sandbox transport, the configured settings. */
export const wechat = (): WeChat => createWeChatClient(sandbox, env.KV, getConfig(env).wechat);

/** A client over `transport` with short timeouts, so fault tests stay fast. */
export function client(transport: Transport = sandbox): WeChat {
  return createWeChatClient(transport, env.KV, { timeoutMs: 200, retryDelayMs: 1 });
}

/**
 * A transport over the sandbox where `fault` may answer instead (return
 * undefined to pass through); `seen(path)` counts the requests per path.
 */
export function faulty(fault: (request: Request, attempt: number) => Promise<Response | undefined> | Response | undefined) {
  const counts = new Map<string, number>();
  const transport: Transport = async (request) => {
    const path = new URL(request.url).pathname;
    const attempt = (counts.get(path) ?? 0) + 1;
    counts.set(path, attempt);
    return (await fault(request, attempt)) ?? sandbox(request);
  };
  return { transport, seen: (path: string) => counts.get(path) ?? 0 };
}

export const pathOf = (request: Request) => new URL(request.url).pathname;

/** Requests the fake serves on `path` from now on (KV is shared by the tests of a file). */
export async function callsFrom(path: string): Promise<() => Promise<number>> {
  const start = await sandboxCallCount(env.KV, path);
  return async () => (await sandboxCallCount(env.KV, path)) - start;
}

/** The OAuthError `promise` rejects with. */
export async function oauthError(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  throw new Error('expected an OAuthError, got success');
}

/**
 * The OAuthError `promise` rejects with, and what the bridge logged meanwhile:
 * the client reads plain words, the log keeps the API path and the errcode.
 */
export async function oauthErrorLogged(promise: Promise<unknown>): Promise<{ error: OAuthError; log: string }> {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    const error = await oauthError(promise);
    return { error, log: warn.mock.calls.map((args) => args.join(' ')).join('\n') };
  } finally {
    warn.mockRestore();
  }
}

/** A description a client may read: no errcode, no WeChat API path. */
export function expectNoWeChatDetails(description: string, errcode?: number): void {
  expect(description).not.toMatch(/errcode|\/?(sns|wxa|cgi-bin)\//);
  if (errcode !== undefined) expect(description).not.toContain(String(errcode));
}

export const tokenCacheKey = (app: WeChatApp) => `wechat:stable_token:${app.appid}`;

export async function cachedToken(app: WeChatApp): Promise<string | undefined> {
  const cached = await env.KV.get<{ token: string }>(tokenCacheKey(app), 'json');
  return cached?.token;
}
