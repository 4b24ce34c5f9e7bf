/**
 * WeChat's own web logins (docs/protocol.md §5a) while WeChat fails: at
 * `GET /wechat/callback`, the code exchange `sns/oauth2/access_token` (an
 * Official Account's code, a Website App's code) and the profile
 * `sns/userinfo` (snsapi_userinfo, snsapi_login). Every failure is an HTML
 * page for the person, never a redirect to the client; the code is
 * exchanged once, the profile asked at most twice; nothing is written, and
 * the same pending login still gets in by a fresh round (new state, new code).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SandboxFault } from '../../src/sandbox';
import { slowDelayMs } from '../../src/sandbox/faults';
import { authorizeUrl, Browser, REDIRECT_URI, startLogin, webClientMetadata } from '../support/browser';
import { register, type RegisteredClient, uniqueId } from '../support/oidc';
import { callsFrom, clearFaults, counts, expectNoWeChatDetails, inject, isRetried, label, mint, PATHS, TIMEOUT_MS, useFaults } from './support';

useFaults();

type Door = 'officialaccount' | 'website';

const DOORS = [
  // scope profile: the Official Account asks with its page (snsapi_userinfo); the Website App always asks snsapi_login.
  { door: 'officialaccount', scope: 'snsapi_userinfo' },
  { door: 'website', scope: 'snsapi_login' },
] as const;

/** What the person sees: a page, with the OAuth error's status, and what it says. */
type Outcome =
  | { ok: true }
  | { ok: false; status: 400 | 500 | 503; says: RegExp };

const OK: Outcome = { ok: true };
const UNAVAILABLE: Outcome = { ok: false, status: 503, says: /WeChat is (busy|unavailable)/ };
const SERVER_ERROR: Outcome = { ok: false, status: 500, says: /./ };
const refused = (says: RegExp): Outcome => ({ ok: false, status: 400, says });

/** A code's fault, or the snapshot user: docs/wechat.md "Errcodes", "Snapshot users". */
type CodeFault = SandboxFault | 'snapshot';

/** The code exchange's faults of docs/wechat.md "Errcodes" and the sandbox's named faults, with what the callback answers. */
const EXCHANGE_FAULTS: readonly (readonly [CodeFault, Outcome])[] = [
  [40029, refused(/invalid/)],
  [40163, refused(/already used/)],
  [42003, refused(/expired/)],
  [40226, refused(/high risk/)],
  ['snapshot', refused(/snapshot/)],
  [-1, UNAVAILABLE],
  [45011, UNAVAILABLE],
  ['timeout', UNAVAILABLE],
  ['malformed_json', UNAVAILABLE],
  ['http_500', UNAVAILABLE],
  ['http_502', UNAVAILABLE],
  ['slow', OK],
];

/** Path faults (queued before the fake looks at the code): one of each kind. */
const EXCHANGE_PATH_SAMPLE: readonly (readonly [SandboxFault, Outcome])[] = [
  [40163, refused(/already used/)],
  [-1, UNAVAILABLE],
  ['timeout', UNAVAILABLE],
  ['http_502', UNAVAILABLE],
  ['malformed_json', UNAVAILABLE],
];

/**
 * sns/userinfo failing every time (docs/wechat.md "Retries", "Errcodes"):
 * busy and unreachable retried once; quota and unreadable answers not; a
 * code errcode outside a code exchange is the bridge's problem.
 */
const USERINFO_FAULTS: readonly (readonly [SandboxFault, Outcome, number])[] = [
  [-1, UNAVAILABLE, 2],
  [45011, UNAVAILABLE, 1],
  ['timeout', UNAVAILABLE, 2],
  ['http_500', UNAVAILABLE, 2],
  ['http_502', UNAVAILABLE, 2],
  ['malformed_json', UNAVAILABLE, 1],
  [40163, SERVER_ERROR, 1],
  ['slow', OK, 1],
];

const UNHANDLED = 'the server failed to process the request';

let client: RegisteredClient;
beforeAll(async () => {
  client = await register(webClientMetadata);
});

const approvalsOf = async (loginId: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM login_approvals WHERE login_id = ?').bind(loginId).first<{ n: number }>())!.n;

/** A pending login of `client` in its own browser. */
async function pendingLogin() {
  const browser = new Browser();
  const loginId = await startLogin(browser, authorizeUrl(client));
  return { browser, loginId };
}

/** Leaves for WeChat's page by `door`: the state WeChat carries back. */
async function toWeChat(browser: Browser, loginId: string, door: Door, expectedScope: string) {
  const response = await browser.get(`/login/${loginId}/wechat/${door}`);
  expect(response.status).toBe(302);
  const page = new URL(response.headers.get('Location')!);
  expect(page.searchParams.get('scope')).toBe(expectedScope);
  return page.searchParams.get('state')!;
}

/** WeChat's return with the code of its page; `fault`: the code's own. */
async function back(browser: Browser, door: Door, scope: string, state: string, fault?: CodeFault) {
  const { code } = await mint({
    kind: door,
    scope,
    openid: uniqueId('o'),
    ...(fault === 'snapshot' ? { snapshot: true } : fault !== undefined && { error: fault }),
  });
  return browser.get(`/wechat/callback?${new URLSearchParams({ state, code })}`);
}

/** A failure is an HTML page of its status for the person: no redirect, no JSON, no stack, nothing of the catch-all 500. */
async function expectErrorPage(response: Response, outcome: Exclude<Outcome, { ok: true }>) {
  const text = await response.text();
  expect(response.status, text.slice(0, 500)).toBe(outcome.status);
  expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
  expect(response.headers.get('Location')).toBeNull();
  expect(text).toContain('<html');
  expect(text).toMatch(outcome.says);
  expect(text).not.toContain(UNHANDLED);
  expectNoWeChatDetails(text);
  expect(text).not.toMatch(/\bat .+:\d+:\d+|Error:|secret/);
  if (outcome.status === 503) expect(response.headers.get('Retry-After')).toMatch(/^\d+$/);
}

/** The login was not spent: a fresh round (new state, new code) in the same browser gets it to the client, once. */
async function expectFreshRoundSucceeds(browser: Browser, loginId: string, door: Door, scope: string) {
  const before = await counts();
  const state = await toWeChat(browser, loginId, door, scope);
  const response = await back(browser, door, scope, state);
  expect(response.status, await response.clone().text()).toBe(303);
  expect(response.headers.get('Location')).toBe(`/login/${loginId}/continue`);
  const toClient = await browser.get(`/login/${loginId}/continue`);
  expect(toClient.status).toBe(302);
  const result = new URL(toClient.headers.get('Location')!);
  expect(`${result.origin}${result.pathname}`).toBe(REDIRECT_URI);
  expect(result.searchParams.get('code')).toBeTruthy();
  const after = await counts();
  expect([after.users, after.identities, after.approvals]).toEqual([before.users! + 1, before.identities! + 1, before.approvals! + 1]);
}

/**
 * One callback under a fault: its answer, its calls to WeChat, and what it
 * wrote; then, after a failure, the fresh round.
 */
async function expectCallback(
  door: Door,
  scope: string,
  outcome: Outcome,
  calls: { [PATHS.appCode]: number; [PATHS.userinfo]: number },
  prepare: () => Promise<void>,
  codeFault?: CodeFault,
  timing?: SandboxFault,
) {
  const { browser, loginId } = await pendingLogin();
  const state = await toWeChat(browser, loginId, door, scope);
  await prepare();
  const before = await counts();
  const made = await callsFrom(PATHS.appCode, PATHS.userinfo);
  const started = Date.now();
  const response = await back(browser, door, scope, state, codeFault);
  const took = Date.now() - started;
  expect(await made()).toEqual(calls);
  if (timing === 'timeout') expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS);
  if (timing === 'slow') expect(took).toBeGreaterThanOrEqual(slowDelayMs(TIMEOUT_MS));
  if (outcome.ok) {
    expect(response.status, await response.clone().text()).toBe(303);
    expect(response.headers.get('Location')).toBe(`/login/${loginId}/continue`);
    expect(await approvalsOf(loginId)).toBe(1);
    const after = await counts();
    expect([after.users, after.identities, after.approvals]).toEqual([before.users! + 1, before.identities! + 1, before.approvals! + 1]);
    return;
  }
  await expectErrorPage(response, outcome);
  // No approval, no user, no identity, no unionid, no grant: the login is still pending.
  expect(await approvalsOf(loginId)).toBe(0);
  expect(await counts()).toEqual(before);
  // Faults queued for a retry that was (rightly) not made are not the fresh round's.
  await clearFaults();
  await expectFreshRoundSucceeds(browser, loginId, door, scope);
}

describe.each(DOORS)('sns/oauth2/access_token failing at the $door callback (docs/wechat.md "Web authorization pages", "sns/oauth2/access_token", "Retries", "Errcodes", "Snapshot users")', ({ door, scope }) => {
  it.each(EXCHANGE_FAULTS.map(([fault, outcome]) => [fault === 'snapshot' ? 'a snapshot user' : label(fault), fault, outcome] as const))(
    "%s as the code's fault: the right page, exchanged exactly once, nothing written, the login still open",
    async (_, fault, outcome) => {
      const calls = { [PATHS.appCode]: 1, [PATHS.userinfo]: outcome.ok ? 1 : 0 };
      await expectCallback(door, scope, outcome, calls, async () => {}, fault, fault === 'snapshot' ? undefined : fault);
    },
  );

  it.each(EXCHANGE_PATH_SAMPLE.map(([fault, outcome]) => [label(fault), fault, outcome] as const))(
    '%s on the path: the right page, never retried, nothing written, the login still open',
    async (_, fault, outcome) => {
      // Queued twice: a retry would meet the second fault, and be counted.
      await expectCallback(door, scope, outcome, { [PATHS.appCode]: 1, [PATHS.userinfo]: 0 }, () => inject(PATHS.appCode, fault, 2), undefined, fault);
    },
  );
});

describe.each(DOORS)('sns/userinfo failing at the $door callback (docs/wechat.md "Web authorization pages", "sns/userinfo", "Retries", "Errcodes")', ({ door, scope }) => {
  it.each(USERINFO_FAULTS.map(([fault, outcome, calls]) => [label(fault), fault, outcome, calls] as const))(
    '%s every time: the right page, asked at most twice, nothing written, the login still open',
    async (_, fault, outcome, userinfoCalls) => {
      await expectCallback(door, scope, outcome, { [PATHS.appCode]: 1, [PATHS.userinfo]: userinfoCalls }, () => inject(PATHS.userinfo, fault, 2), undefined, fault);
    },
  );

  it.each(USERINFO_FAULTS.filter(([fault]) => isRetried(fault)).map(([fault]) => [label(fault), fault] as const))(
    '%s once: the one retry succeeds',
    async (_, fault) => {
      await expectCallback(door, scope, OK, { [PATHS.appCode]: 1, [PATHS.userinfo]: 2 }, () => inject(PATHS.userinfo, fault, 1));
    },
  );
});

describe('sns/userinfo under snsapi_base (docs/wechat.md "Web authorization pages": 48001 under snsapi_base)', () => {
  it('is not asked in the silent round, so its faults do not matter: someone new is sent to the page with consent', async () => {
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client, { scope: 'openid' }));
    const state = await toWeChat(browser, loginId, 'officialaccount', 'snsapi_base');
    await inject(PATHS.userinfo, -1, 2);
    const before = await counts();
    const made = await callsFrom(PATHS.appCode, PATHS.userinfo);
    const response = await back(browser, 'officialaccount', 'snsapi_base', state);
    expect(response.status).toBe(302);
    expect(response.headers.get('Location')).toBe(`/login/${loginId}/wechat/officialaccount?profile`);
    expect(await made()).toEqual({ [PATHS.appCode]: 1, [PATHS.userinfo]: 0 });
    expect(await counts()).toEqual(before);
  });

  it('a silent round whose exchange fails is a page, and the login still gets in by a fresh round', async () => {
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client, { scope: 'openid' }));
    const state = await toWeChat(browser, loginId, 'officialaccount', 'snsapi_base');
    const before = await counts();
    const made = await callsFrom(PATHS.appCode, PATHS.userinfo);
    await expectErrorPage(await back(browser, 'officialaccount', 'snsapi_base', state, 45011), UNAVAILABLE);
    expect(await made()).toEqual({ [PATHS.appCode]: 1, [PATHS.userinfo]: 0 });
    expect(await counts()).toEqual(before);
    expect(await approvalsOf(loginId)).toBe(0);
    // A fresh silent round for someone new: the page with consent, then in.
    const silent = await toWeChat(browser, loginId, 'officialaccount', 'snsapi_base');
    const again = await back(browser, 'officialaccount', 'snsapi_base', silent);
    expect(again.headers.get('Location')).toBe(`/login/${loginId}/wechat/officialaccount?profile`);
    const consent = await browser.get(`/login/${loginId}/wechat/officialaccount?profile`);
    const consentState = new URL(consent.headers.get('Location')!).searchParams.get('state')!;
    expect((await back(browser, 'officialaccount', 'snsapi_userinfo', consentState)).status).toBe(303);
    expect(await approvalsOf(loginId)).toBe(1);
  });
});
