/**
 * Hostile input at WeChat's web doors (docs/protocol.md §5a, §8):
 * `GET /login/<id>/wechat/<door>` and WeChat's way back, `GET
 * /wechat/callback?code&state`. Random, malformed, overlong and repeated
 * `state` and `code`; other browsers' cookies, other logins' states, states
 * swapped between two browsers, replays after success. The answer is only
 * ever the login's own way on (303 to `/login/<id>/continue`), a second round
 * (302 to `/login/<id>/wechat/officialaccount?profile`) or WeChat's page;
 * anything else is an HTML error page, with D1 and KV as they were.
 */
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { authorizeUrl, Browser, REDIRECT_URI, startLogin, webClientMetadata } from '../support/browser';
import { ISSUER, mint, register, type RegisteredClient } from '../support/oidc';
import { expectHtmlError, expectNoServerError, headerSafe, INVALID_UTF8, nastyString, PROPERTY_TIMEOUT, RUNS, sendWatched, snapshot } from './support';

type Door = 'officialaccount' | 'website';
/** How a round leaves: the Official Account asking for a profile, silently, or the Website App. */
type Kind = 'profile' | 'silent' | 'website';

const DOOR: Record<Kind, Door> = { profile: 'officialaccount', silent: 'officialaccount', website: 'website' };
const SCOPE: Record<Kind, string> = { profile: 'snsapi_userinfo', silent: 'snsapi_base', website: 'snsapi_login' };
const WECHAT_PAGE: Record<Door, string> = {
  officialaccount: `${ISSUER}/sandbox/wechat/connect/oauth2/authorize`,
  website: `${ISSUER}/sandbox/wechat/connect/qrconnect`,
};

/** A pending login that left for WeChat: its browser, its state and the cookies that bind them. */
interface Round {
  kind: Kind;
  browser: Browser;
  loginId: string;
  state: string;
  /** The state cookie's value (bridge_wechat_<state>), kept even after the browser drops it. */
  secret: string;
  /** The login cookie's value (bridge_login_<id>). */
  loginSecret: string;
}

let client: RegisteredClient;

async function leave(browser: Browser, loginId: string, kind: Kind): Promise<string> {
  const response = await browser.get(`/login/${loginId}/wechat/${DOOR[kind]}`);
  expect(response.status).toBe(302);
  const page = new URL(response.headers.get('Location')!);
  expect(page.searchParams.get('scope')).toBe(SCOPE[kind]);
  return page.searchParams.get('state')!;
}

async function newRound(kind: Kind): Promise<Round> {
  const browser = new Browser();
  const loginId = await startLogin(browser, authorizeUrl(client, { scope: kind === 'silent' ? 'openid' : 'openid profile' }));
  const loginSecret = browser.cookie(`bridge_login_${loginId}`)!;
  const state = await leave(browser, loginId, kind);
  return { kind, browser, loginId, state, secret: browser.cookie(`bridge_wechat_${state}`)!, loginSecret };
}

/** A code WeChat's page would hand back for `kind`, for someone new. */
const freshCode = async (kind: Kind) => (await mint({ kind: DOOR[kind], scope: SCOPE[kind] })).code;

const approvalOf = (loginId: string) => env.DB.prepare('SELECT approved FROM login_approvals WHERE login_id = ?').bind(loginId).first<{ approved: number }>();

/** D1 alone (a door that answers with WeChat's page has written its state to KV, and only that). */
const d1Only = (state: Record<string, string | number>) => Object.fromEntries(Object.entries(state).filter(([key]) => key.startsWith('d1:')));

/** The statuses of an error page at the doors and the callback. */
const ERROR_STATUSES = [400, 404, 409];

beforeAll(async () => {
  client = await register(webClientMetadata);
});

describe('hostile input: GET /wechat/callback', () => {
  /** A: Official Account with a profile; B: Website App; D: silent; C: done and back at the client (its cookies kept, for replay). */
  type Name = 'A' | 'B' | 'C' | 'D';
  const rounds = {} as Record<Name, Round>;
  let usedCode: string;

  beforeAll(async () => {
    [rounds.A, rounds.B, rounds.C, rounds.D] = await Promise.all([newRound('profile'), newRound('website'), newRound('profile'), newRound('silent')]);
    usedCode = await freshCode('profile');
    const done = await rounds.C.browser.get(`/wechat/callback?${new URLSearchParams({ state: rounds.C.state, code: usedCode })}`);
    expect(done.status).toBe(303);
    expect((await rounds.C.browser.get(`/login/${rounds.C.loginId}/continue`)).status).toBe(302);
  });

  type StateValue = { ref: Name; tweak: 'as is' | 'lowercase' | 'extra' | 'truncated' | 'twice' } | { literal: string };
  type CodeValue = { fresh: Kind } | { used: true } | { literal: string };

  const stateValue: fc.Arbitrary<StateValue> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ ref: fc.constantFrom<Name>('A', 'B', 'C', 'D'), tweak: fc.constant('as is' as const) }) },
    { weight: 2, arbitrary: fc.record({ ref: fc.constantFrom<Name>('A', 'B', 'C', 'D'), tweak: fc.constantFrom('lowercase' as const, 'extra' as const, 'truncated' as const, 'twice' as const) }) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9]{32}$/),
        fc.constantFrom('A'.repeat(128), 'A'.repeat(129), 'a'.repeat(10_000), '', 'state', `${'Z'.repeat(31)}-`, '0'),
        nastyString(),
      ).map((literal) => ({ literal })),
    },
  );
  const codeValue: fc.Arbitrary<CodeValue> = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<Kind>('profile', 'silent', 'website').map((fresh) => ({ fresh })) },
    { weight: 1, arbitrary: fc.constant({ used: true as const }) },
    { weight: 2, arbitrary: fc.oneof(fc.constantFrom('unknown-code', 'c'.repeat(128), 'c'.repeat(129), '', 'a b', 'a/b'), nastyString()).map((literal) => ({ literal })) },
  );

  type Param = { name: string; value: StateValue | CodeValue | string; encoding: 'proper' | 'raw' } | { bytes: readonly number[] };
  const encoding = fc.constantFrom('proper' as const, 'raw' as const);
  const param: fc.Arbitrary<Param> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ name: fc.constant('state'), value: stateValue, encoding }) },
    { weight: 4, arbitrary: fc.record({ name: fc.constant('code'), value: codeValue, encoding }) },
    { weight: 1, arbitrary: fc.record({ name: nastyString(), value: nastyString(), encoding }) },
    { weight: 1, arbitrary: fc.record({ bytes: fc.constantFrom(...INVALID_UTF8) }) },
  );
  /** Mostly one state and one code; sometimes missing, repeated or among noise. */
  const query = fc
    .record({
      state: fc.option(fc.record({ name: fc.constant('state'), value: stateValue, encoding: fc.constant('proper' as const) }), { freq: 8 }),
      code: fc.option(fc.record({ name: fc.constant('code'), value: codeValue, encoding: fc.constant('proper' as const) }), { freq: 6 }),
      extra: fc.oneof({ weight: 3, arbitrary: fc.constant([] as Param[]) }, { weight: 2, arbitrary: fc.array(param, { maxLength: 4 }) }),
      extraFirst: fc.boolean(),
    })
    .map(({ state, code, extra, extraFirst }): Param[] => {
      const base = [state, code].filter((p): p is NonNullable<typeof p> => p !== null);
      return extraFirst ? [...extra, ...base] : [...base, ...extra];
    });

  type CookieChoice =
    | 'matching' | 'none' | 'own A' | 'own B' | 'own D' | 'stale C' | "B's secret under A's name" | "A's secret under B's name" | 'A and B'
    | 'A garbage' | 'A secret+x' | 'A overlong' | 'A bad percent' | 'A twice, garbage first' | 'A login cookie only' | 'hostile';
  /** Half the time the cookies of the rounds whose states the query names, so that some requests may go on. */
  const cookie = fc.tuple(
    fc.oneof(
      { weight: 1, arbitrary: fc.constant<CookieChoice>('matching') },
      {
        weight: 1,
        arbitrary: fc.constantFrom<CookieChoice>(
          'none', 'own A', 'own B', 'own D', 'stale C', "B's secret under A's name", "A's secret under B's name", 'A and B',
          'A garbage', 'A secret+x', 'A overlong', 'A bad percent', 'A twice, garbage first', 'A login cookie only', 'hostile',
        ),
      },
    ),
    nastyString(),
  );

  const pair = (round: Round, secret = round.secret) => `bridge_wechat_${round.state}=${secret}`;
  function cookieHeader([choice, hostile]: [CookieChoice, string], params: readonly Param[]): string | undefined {
    const { A, B, C, D } = rounds;
    switch (choice) {
      case 'matching': {
        const named = params.flatMap((param) => ('name' in param && param.name === 'state' && typeof param.value === 'object' && 'ref' in param.value ? [rounds[param.value.ref]] : []));
        return named.length ? named.map((round) => pair(round)).join('; ') : undefined;
      }
      case 'none': return undefined;
      case 'own A': return pair(A);
      case 'own B': return pair(B);
      case 'own D': return pair(D);
      case 'stale C': return pair(C);
      case "B's secret under A's name": return pair(A, B.secret);
      case "A's secret under B's name": return pair(B, A.secret);
      case 'A and B': return `${pair(A)}; ${pair(B)}`;
      case 'A garbage': return pair(A, 'garbage');
      case 'A secret+x': return pair(A, `${A.secret}x`);
      case 'A overlong': return pair(A, 'a'.repeat(6000));
      case 'A bad percent': return pair(A, '%ZZ%E0%A4%A');
      case 'A twice, garbage first': return `${pair(A, 'garbage')}; ${pair(A)}`;
      case 'A login cookie only': return `bridge_login_${A.loginId}=${A.loginSecret}`;
      case 'hostile': return headerSafe(`bridge_wechat_${A.state}=${hostile}`);
    }
  }

  async function resolve(value: StateValue | CodeValue | string): Promise<string> {
    if (typeof value === 'string') return value;
    if ('literal' in value) return value.literal;
    if ('used' in value) return usedCode;
    if ('fresh' in value) return freshCode(value.fresh);
    const state = rounds[value.ref].state;
    switch (value.tweak) {
      case 'as is': return state;
      case 'lowercase': return state.toLowerCase();
      case 'extra': return `${state}x`;
      case 'truncated': return state.slice(0, -1);
      case 'twice': return `${state}${state}`;
    }
  }

  async function queryOf(params: readonly Param[]): Promise<string> {
    const parts: string[] = [];
    for (const param of params) {
      if ('bytes' in param) parts.push(param.bytes.map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join(''));
      else {
        const value = await resolve(param.value);
        parts.push(param.encoding === 'proper' ? new URLSearchParams([[param.name, value]]).toString() : `${param.name}=${value}`);
      }
    }
    return parts.join('&');
  }

  it(
    'goes on only for the browser holding that state, to its own login; anything else is an error page that writes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(query, cookie, async (params, cookieChoice) => {
          const search = await queryOf(params);
          const header = cookieHeader(cookieChoice, params);
          const { response, unchanged } = await sendWatched(`/wechat/callback?${search}`, { headers: header === undefined ? {} : { Cookie: header } });
          const what = `GET /wechat/callback?${search.slice(0, 300)} with ${cookieChoice[0]} ${header?.slice(0, 80) ?? ''}`;
          await expectNoServerError(response, what);
          // Only a round whose state is in the query and whose state cookie came along may go on.
          const holders = (['A', 'B', 'D'] as const).filter((name) => {
            const round = rounds[name];
            return search.includes(round.state) && (header ?? '').split(/;\s*/).includes(pair(round));
          });
          const location = response.headers.get('Location');
          if (response.status === 303) {
            const owner = holders.find((name) => location === `/login/${rounds[name].loginId}/continue`);
            expect(owner, what).toBeDefined();
            // Answered, once: that round is spent; the next runs get a new one.
            expect(await approvalOf(rounds[owner!].loginId), what).not.toBeNull();
            rounds[owner!] = await newRound(rounds[owner!].kind);
            return;
          }
          if (response.status === 302) {
            // The silent round met someone new: the same login, once more, with the page that asks for a profile.
            expect(holders, what).toContain('D');
            expect(location, what).toBe(`/login/${rounds.D.loginId}/wechat/officialaccount?profile`);
            return unchanged();
          }
          await expectHtmlError(response, ERROR_STATUSES, what);
          unchanged();
        }),
        RUNS.medium,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'a replay after success, with the cookie kept, is an error page and writes nothing, whatever the code',
    async () => {
      const { C } = rounds;
      await fc.assert(
        fc.asyncProperty(fc.option(codeValue, { freq: 4 }), async (code) => {
          const params = new URLSearchParams({ state: C.state, ...(code !== null && { code: await resolve(code) }) });
          const { response, unchanged } = await sendWatched(`/wechat/callback?${params}`, { headers: { Cookie: pair(C) } });
          await expectHtmlError(response, [400, 409], `replay of C with ${params.toString().slice(0, 200)}`);
          unchanged();
        }),
        RUNS.narrow,
      );
      expect((await approvalOf(C.loginId))?.approved).toBe(1);
    },
    PROPERTY_TIMEOUT,
  );
});

describe('hostile input: GET /login/<id>/wechat/<door>', () => {
  type Name = 'A' | 'B' | 'C';
  const rounds = {} as Record<Name, Round>;

  beforeAll(async () => {
    [rounds.A, rounds.B, rounds.C] = await Promise.all([newRound('profile'), newRound('website'), newRound('profile')]);
    // C: answered and back at the client.
    expect((await rounds.C.browser.get(`/wechat/callback?${new URLSearchParams({ state: rounds.C.state, code: await freshCode('profile') })}`)).status).toBe(303);
    expect((await rounds.C.browser.get(`/login/${rounds.C.loginId}/continue`)).status).toBe(302);
  });

  const segment = (value: string) => encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, '?'));
  const id = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<Name>('A', 'B', 'C').map((ref) => ({ ref })) },
    { weight: 1, arbitrary: fc.constantFrom('unknown-login', 'A'.repeat(32), 'A'.repeat(33), '%ZZ', '%C0%AF', '%00').map((literal) => ({ literal })) },
    { weight: 1, arbitrary: nastyString().map((value) => ({ literal: segment(value) })) },
  ).filter((value) => !('literal' in value) || !['', '.', '..'].includes(value.literal));
  const door = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('officialaccount', 'website') },
    { weight: 1, arbitrary: fc.constantFrom('miniprogram', 'app', 'OfficialAccount', 'WEBSITE', 'website%00', 'officialaccount%2F', '%ZZ') },
    { weight: 1, arbitrary: nastyString().map(segment) },
  ).filter((value) => !['', '.', '..'].includes(value));
  const query = fc.constantFrom('', '?profile', '?profile=1&profile', '?profile=%ZZ', '?state=AAAA', `?${'x'.repeat(5000)}`);
  type CookieChoice = 'none' | 'own' | "another login's" | "another's secret under this name" | 'garbage' | 'own+x' | 'state cookie only';
  const cookie = fc.constantFrom<CookieChoice>('none', 'own', "another login's", "another's secret under this name", 'garbage', 'own+x', 'state cookie only');

  it(
    "sends only the login's own browser to WeChat's page, with a new state; anything else is an error page that writes nothing",
    async () => {
      await fc.assert(
        fc.asyncProperty(id, door, query, cookie, async (target, doorName, search, cookieChoice) => {
          const round = 'ref' in target ? rounds[target.ref] : undefined;
          const loginId = round?.loginId ?? ('literal' in target ? target.literal : '');
          const other = round === rounds.A ? rounds.B : rounds.A;
          const header = {
            none: undefined,
            own: round && `bridge_login_${round.loginId}=${round.loginSecret}`,
            "another login's": `bridge_login_${other.loginId}=${other.loginSecret}`,
            "another's secret under this name": `bridge_login_${loginId}=${other.loginSecret}`,
            garbage: `bridge_login_${loginId}=garbage`,
            'own+x': round && `bridge_login_${round.loginId}=${round.loginSecret}x`,
            'state cookie only': round && `bridge_wechat_${round.state}=${round.secret}`,
          }[cookieChoice];
          const path = `/login/${loginId}/wechat/${doorName}${search}`;
          const before = await snapshot();
          const { response, unchanged } = await sendWatched(path, { headers: header ? { Cookie: header } : {} });
          const what = `GET ${path.slice(0, 200)} with ${cookieChoice}`;
          await expectNoServerError(response, what);
          if (response.status === 302) {
            // Its own browser, a door this client may use. (C's login is answered: its callback would be 409, but leaving writes nothing lasting.)
            expect(round, what).toBeDefined();
            expect(cookieChoice, what).toBe('own');
            expect(['officialaccount', 'website'], what).toContain(doorName);
            const page = new URL(response.headers.get('Location')!);
            expect(`${page.origin}${page.pathname}`, what).toBe(WECHAT_PAGE[doorName as Door]);
            expect(page.hash, what).toBe('#wechat_redirect');
            expect(page.searchParams.get('redirect_uri'), what).toBe(`${ISSUER}/wechat/callback`);
            expect(page.searchParams.get('state'), what).toMatch(/^[A-Za-z0-9]{32}$/);
            const setCookie = response.headers.getAll('Set-Cookie').join('\n');
            expect(setCookie, what).toMatch(new RegExp(`bridge_wechat_${page.searchParams.get('state')}=[^;]+;.*Path=/wechat/callback.*HttpOnly`, 'i'));
            // The state is KV's; D1 is untouched.
            expect(d1Only(await snapshot()), what).toEqual(d1Only(before));
            return;
          }
          await expectHtmlError(response, [404], what);
          unchanged();
        }),
        RUNS.medium,
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe('hostile input: two browsers, their states swapped and replayed', () => {
  /** One step: a browser presents a state (its own or the other's) with a code, a refusal, or leaves again. */
  type Step =
    | { act: 'callback'; by: 0 | 1; stateOf: 0 | 1; which: 'latest' | 'first'; code: 'fresh' | 'other door' | 'used' | 'none' }
    | { act: 'again'; by: 0 | 1 };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ act: fc.constant('callback' as const), by: fc.constantFrom(0 as const, 1 as const), stateOf: fc.constantFrom(0 as const, 1 as const), which: fc.constantFrom('latest' as const, 'first' as const), code: fc.constantFrom('fresh' as const, 'other door' as const, 'used' as const, 'none' as const) }) },
    { weight: 1, arbitrary: fc.record({ act: fc.constant('again' as const), by: fc.constantFrom(0 as const, 1 as const) }) },
  );
  let usedCode: string;

  beforeAll(async () => {
    const spent = await newRound('website');
    usedCode = await freshCode('website');
    expect((await spent.browser.get(`/wechat/callback?${new URLSearchParams({ state: spent.state, code: usedCode })}`)).status).toBe(303);
  });

  it(
    'a state works once, in the browser that left with it, for its own login; every other try is an error page that writes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.tuple(fc.constantFrom<Kind>('profile', 'silent', 'website'), fc.constantFrom<Kind>('profile', 'silent', 'website')), fc.array(step, { minLength: 2, maxLength: 6 }), async (kinds, steps) => {
          const rounds = await Promise.all(kinds.map(newRound));
          /** Every state each browser left with, oldest first. */
          const states = rounds.map((round) => [round.state]);
          const answered = [false, false];
          const log: string[] = [];
          for (const s of steps) {
            log.push(JSON.stringify(s));
            const what = log.join(' → ');
            const mine = rounds[s.by]!;
            if (s.act === 'again') {
              const before = await snapshot();
              const response = await mine.browser.get(`/login/${mine.loginId}/wechat/${DOOR[mine.kind]}`);
              if (answered[s.by]) {
                // Back at the client (its login cookie cleared): this login has no more doors.
                await expectHtmlError(response, [404], what);
                expect(await snapshot(), what).toEqual(before);
                continue;
              }
              expect(response.status, what).toBe(302);
              states[s.by]!.push(new URL(response.headers.get('Location')!).searchParams.get('state')!);
              continue;
            }
            const list = states[s.stateOf]!;
            const state = s.which === 'latest' ? list[list.length - 1]! : list[0]!;
            const target = rounds[s.stateOf]!;
            const holds = mine.browser.cookie(`bridge_wechat_${state}`) !== undefined;
            const codeKind: Kind = s.code === 'other door' ? (target.kind === 'website' ? 'profile' : 'website') : target.kind;
            const code = s.code === 'none' ? undefined : s.code === 'used' ? usedCode : await freshCode(codeKind);
            const before = await snapshot();
            const response = await mine.browser.get(`/wechat/callback?${new URLSearchParams({ state, ...(code !== undefined && { code }) })}`);
            await expectNoServerError(response, what);
            const location = response.headers.get('Location');
            // The one way on: this browser left with this state, for a login not yet answered, with a good code or a refusal.
            const goesOn = holds && s.by === s.stateOf && !answered[s.stateOf] && (s.code === 'fresh' || s.code === 'none');
            if (!goesOn) {
              await expectHtmlError(response, ERROR_STATUSES, what);
              expect(await snapshot(), `${what} changed the stored state`).toEqual(before);
              continue;
            }
            if (s.code === 'fresh' && target.kind === 'silent') {
              // Someone new under snsapi_base: a second round, nothing written.
              expect([response.status, location], what).toEqual([302, `/login/${target.loginId}/wechat/officialaccount?profile`]);
              expect(await snapshot(), what).toEqual(before);
              continue;
            }
            expect([response.status, location], what).toEqual([303, `/login/${target.loginId}/continue`]);
            answered[s.stateOf] = true;
            expect((await approvalOf(target.loginId))?.approved, what).toBe(s.code === 'none' ? 0 : 1);
            const toClient = await mine.browser.get(`/login/${target.loginId}/continue`);
            expect(toClient.status, what).toBe(302);
            const result = new URL(toClient.headers.get('Location')!);
            expect(`${result.origin}${result.pathname}`, what).toBe(REDIRECT_URI);
            expect(result.searchParams.get(s.code === 'none' ? 'error' : 'code'), what).toBeTruthy();
          }
        }),
        // Each run is two logins and up to six rounds through the callback: half the narrow count.
        { numRuns: RUNS.narrow.numRuns / 2 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});
