/**
 * A pending login's ways into the mini program (docs/protocol.md §5) while WeChat
 * fails: the mini program code, GET /login/<id>/qr (wxa/getwxacodeunlimit),
 * and the "open WeChat" link, GET /login/<id>/open (wxa/generatescheme), each
 * after cgi-bin/stable_token. Failures are clean JSON errors, never the
 * catch-all 500; idempotent calls are retried at most once.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxFault } from '../../src/sandbox';
import { authorizeUrl, Browser, startLogin, webClientMetadata } from '../support/browser';
import { register, type RegisteredClient } from '../support/oidc';
import {
  ALL_FAULTS, cachedStableToken, callsFrom, counts, type Expected, expectError, expectNoWeChatDetails, forgetStableToken, inject, isRetried,
  label, OK, PATH_SAMPLE, PATHS, persistentOutcome, useFaults,
} from './support';

useFaults();

let client: RegisteredClient;
beforeAll(async () => {
  client = await register(webClientMetadata);
});

const PAGES = [
  { page: 'qr', api: PATHS.wxacode, stableTokenFaults: ALL_FAULTS, stableTokenRecovers: ALL_FAULTS.filter(isRetried) },
  // The same stable token code as /qr: one fault of each kind.
  { page: 'open', api: PATHS.scheme, stableTokenFaults: PATH_SAMPLE, stableTokenRecovers: [-1] },
] as const;

type Page = (typeof PAGES)[number]['page'];

async function open(page: Page) {
  const browser = new Browser();
  const loginId = await startLogin(browser, authorizeUrl(client));
  return () => browser.get(`/login/${loginId}/${page}`);
}

async function expectPage(response: Response, page: Page, expected: Expected) {
  if (!expected.ok) return page === 'open' ? expectErrorPage(response, expected) : expectError(response, expected);
  if (page === 'qr') {
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await response.arrayBuffer()).slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  } else {
    expect(response.status, await response.clone().text()).toBe(302);
    expect(response.headers.get('location')).toMatch(/^weixin:\/\/dl\/business\/\?t=/);
  }
}

/** The "open WeChat" link is followed by a person: its failures are HTML pages, never JSON or a stack. */
async function expectErrorPage(response: Response, expected: Exclude<Expected, { ok: true }>) {
  const text = await response.text();
  expect(response.status, text).toBe(expected.status);
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  expect(text).toContain('<html');
  expectNoWeChatDetails(text);
  expect(text).not.toMatch(/\bat .+:\d+:\d+|Error:/);
  if (expected.status === 503) expect(response.headers.get('Retry-After')).toMatch(/^\d+$/);
}

describe.each(PAGES)('GET /login/<id>/$page', ({ page, api, stableTokenFaults, stableTokenRecovers }) => {
  describe(`${api} failing`, () => {
    beforeAll(async () => {
      // A cached token: only the call under test reaches WeChat (and stable_token only to refresh it).
      await expectPage(await (await open(page))(), page, OK);
    });

    it.each(ALL_FAULTS.map((fault) => [label(fault), fault] as const))('%s every time: the right answer, retried at most once', async (_, fault) => {
      const get = await open(page);
      await inject(api, fault, 3);
      const before = await counts();
      const calls = await callsFrom(api, PATHS.stableToken);
      const { expected, calls: apiCalls } = persistentOutcome(fault, true);
      await expectPage(await get(), page, expected);
      // 40001 / 42001: the token is refreshed once, the call retried once.
      const refreshed = fault === 40001 || fault === 42001 ? 1 : 0;
      expect(await calls()).toEqual({ [api]: apiCalls, [PATHS.stableToken]: refreshed });
      expect(await counts()).toEqual(before);
    });

    const recovered: readonly SandboxFault[] = [...ALL_FAULTS.filter(isRetried), 40001, 42001];
    it.each(recovered.map((fault) => [label(fault), fault] as const))('%s once: the one retry succeeds', async (_, fault) => {
      const get = await open(page);
      await inject(api, fault, 1);
      const calls = await callsFrom(api, PATHS.stableToken);
      await expectPage(await get(), page, OK);
      expect(await calls()).toEqual({ [api]: 2, [PATHS.stableToken]: fault === 40001 || fault === 42001 ? 1 : 0 });
    });
  });

  describe(`${PATHS.stableToken} failing when none is cached`, () => {
    beforeEach(() => forgetStableToken());

    it.each(stableTokenFaults.map((fault) => [label(fault), fault] as const))('%s every time: the right answer, nothing cached', async (_, fault) => {
      const get = await open(page);
      await inject(PATHS.stableToken, fault, 2);
      const calls = await callsFrom(api, PATHS.stableToken);
      const { expected, calls: tokenCalls } = persistentOutcome(fault, false);
      await expectPage(await get(), page, expected);
      expect(await calls()).toEqual({ [api]: expected.ok ? 1 : 0, [PATHS.stableToken]: tokenCalls });
      if (!expected.ok) expect(await cachedStableToken()).toBeUndefined();
    });

    it.each(stableTokenRecovers.map((fault) => [label(fault), fault] as const))('%s once: the one retry succeeds', async (_, fault) => {
      const get = await open(page);
      await inject(PATHS.stableToken, fault, 1);
      const calls = await callsFrom(api, PATHS.stableToken);
      await expectPage(await get(), page, OK);
      expect(await calls()).toEqual({ [api]: 1, [PATHS.stableToken]: 2 });
      expect(await cachedStableToken()).toBeDefined();
    });
  });
});

it('a page that failed works on the next try, with no fault left', async () => {
  const get = await open('qr');
  await inject(PATHS.wxacode, 45011);
  await expectPage(await get(), 'qr', { ok: false, error: 'temporarily_unavailable', status: 503 });
  await expectPage(await get(), 'qr', OK);
});
