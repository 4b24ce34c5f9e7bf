import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors';
import { isAccessTokenRefused, isRetryable, toOAuthError, WeChatFailure, type Failure } from '../../src/wechat/errcodes';

/**
 * The errcode table of docs/wechat.md ("Answers and failures", "Errcodes"),
 * row by row: WeChat's meaning, the OAuth error inside a code exchange
 * (spendsCode) and elsewhere, and whether the call is retried or its access
 * token replaced.
 */
interface Row {
  errcode: number;
  meaning: string;
  inExchange: [string, number];
  elsewhere: [string, number];
  retryable: boolean;
  tokenRefused: boolean;
}

const INVALID_GRANT: [string, number] = ['invalid_grant', 400];
const UNAVAILABLE: [string, number] = ['temporarily_unavailable', 503];
const SERVER_ERROR: [string, number] = ['server_error', 500];

const codeRefused = (errcode: number, meaning: string): Row =>
  ({ errcode, meaning, inExchange: INVALID_GRANT, elsewhere: SERVER_ERROR, retryable: false, tokenRefused: false });
const busy = (errcode: number, meaning: string, retryable: boolean): Row =>
  ({ errcode, meaning, inExchange: UNAVAILABLE, elsewhere: UNAVAILABLE, retryable, tokenRefused: false });
const tokenRefused = (errcode: number, meaning: string): Row =>
  ({ errcode, meaning, inExchange: SERVER_ERROR, elsewhere: SERVER_ERROR, retryable: false, tokenRefused: true });
const ours = (errcode: number, meaning: string): Row =>
  ({ errcode, meaning, inExchange: SERVER_ERROR, elsewhere: SERVER_ERROR, retryable: false, tokenRefused: false });

const ROWS: Row[] = [
  busy(-1, 'system busy', true),
  codeRefused(40029, 'invalid code'),
  codeRefused(40163, 'code already used'),
  codeRefused(42003, 'code expired'),
  codeRefused(40226, 'high-risk user'),
  busy(45009, 'daily API quota reached', false),
  busy(45011, 'per-minute quota reached', false),
  tokenRefused(40001, 'invalid access token (or AppSecret)'),
  tokenRefused(40014, 'invalid access token'),
  tokenRefused(42001, 'access token expired'),
  ours(40013, 'invalid appid'),
  ours(40125, 'invalid AppSecret'),
  ours(40164, 'caller IP not whitelisted'),
  ours(48001, 'API not authorized'),
  ours(41001, 'access token missing'),
  ours(41002, 'appid missing'),
  ours(41004, 'secret missing'),
  ours(41008, 'code missing'),
  ours(40169, 'bad scene'),
  ours(40212, 'bad scheme query'),
  ours(85401, 'bad scheme expiry'),
  ours(47001, 'bad JSON body'),
  ours(61023, 'unknown to the bridge'),
  ours(1, 'unknown to the bridge'),
  ours(-2, 'unknown to the bridge'),
];

const CASES = ROWS.flatMap((row) => [
  { ...row, spendsCode: true, api: 'sns/jscode2session', expected: row.inExchange },
  { ...row, spendsCode: false, api: 'wxa/generatescheme', expected: row.elsewhere },
]);

const ERRMSG = 'errmsg that must not be echoed, rid: 0123-secret';
const failure = (api: string, errcode: number, spendsCode: boolean) =>
  new WeChatFailure(api, { type: 'errcode', errcode, errmsg: ERRMSG }, spendsCode);

describe('docs/wechat.md "Errcodes": each WeChat errcode becomes one OAuth error', () => {
  it.each(CASES)('errcode $errcode ($meaning), spendsCode $spendsCode: $expected.0 ($expected.1)', ({ errcode, api, spendsCode, expected }) => {
    const error = toOAuthError(failure(api, errcode, spendsCode));
    expect(error).toBeInstanceOf(OAuthError);
    expect([error.error, error.status]).toEqual(expected);
    expect(error.description).not.toContain('rid:');
    if (error.error === 'temporarily_unavailable') expect(error.headers).toEqual({ 'Retry-After': '5' });
    else expect(error.headers).toEqual({});
    // The errcode and the API path are for the bridge's log, never the client.
    expect(error.description).not.toContain(String(errcode));
    expect(error.description).not.toMatch(/sns\/|wxa\/|cgi-bin\//);
  });

  it.each([
    [40029, 'the WeChat code is invalid'],
    [40163, 'the WeChat code was already used'],
    [42003, 'the WeChat code has expired'],
    [40226, 'WeChat refused this user (high risk)'],
  ])('errcode %i in a code exchange tells the client why: %s', (errcode, description) => {
    expect(toOAuthError(failure('sns/oauth2/access_token', errcode, true)).description).toBe(description);
  });
});

describe('docs/wechat.md "Retries": an idempotent read is retried once when WeChat was busy (-1) or unreachable', () => {
  it.each(ROWS)('errcode $errcode ($meaning): retried $retryable', ({ errcode, retryable }) => {
    expect(isRetryable(failure('cgi-bin/stable_token', errcode, false))).toBe(retryable);
    // Whether the call spent a code is for the caller to weigh, not this rule.
    expect(isRetryable(failure('sns/jscode2session', errcode, true))).toBe(retryable);
  });
});

describe('docs/wechat.md "cgi-bin/stable_token": 40001, 40014 and 42001 on a wxa/ API replace the access token', () => {
  it.each(ROWS)('errcode $errcode ($meaning): token refused $tokenRefused', ({ errcode, tokenRefused }) => {
    expect(isAccessTokenRefused(failure('wxa/business/getuserphonenumber', errcode, true))).toBe(tokenRefused);
  });
});

describe('docs/wechat.md "Answers and failures": failures without an errcode', () => {
  it.each([
    // [kind, failure, OAuth error, status, retried]
    ['unreachable: a timeout', { type: 'unreachable', detail: 'timeout after 5000 ms' }, 'temporarily_unavailable', 503, true],
    ['unreachable: a network error', { type: 'unreachable', detail: 'Network connection lost' }, 'temporarily_unavailable', 503, true],
    ['unreachable: HTTP 502', { type: 'unreachable', detail: 'HTTP 502' }, 'temporarily_unavailable', 503, true],
    ['unreachable: HTTP 429', { type: 'unreachable', detail: 'HTTP 429' }, 'temporarily_unavailable', 503, true],
    ['malformed: not JSON', { type: 'malformed', detail: 'not JSON' }, 'temporarily_unavailable', 503, false],
    ['malformed: a missing field', { type: 'malformed', detail: 'openid missing' }, 'temporarily_unavailable', 503, false],
    ['HTTP 400', { type: 'http', status: 400 }, 'server_error', 500, false],
    ['HTTP 404', { type: 'http', status: 404 }, 'server_error', 500, false],
    ['HTTP 301', { type: 'http', status: 301 }, 'server_error', 500, false],
  ] as [string, Failure, string, number, boolean][])('%s is %s (%i), retried %s', (_, kind, error, status, retried) => {
    for (const spendsCode of [true, false]) {
      const wechatFailure = new WeChatFailure('sns/jscode2session', kind, spendsCode);
      const oauth = toOAuthError(wechatFailure);
      expect([oauth.error, oauth.status]).toEqual([error, status]);
      expect(isRetryable(wechatFailure)).toBe(retried);
      expect(isAccessTokenRefused(wechatFailure)).toBe(false);
      if (kind.type === 'http') expect(oauth.description).toBe('the bridge could not complete its request to WeChat');
      expect(oauth.description).not.toMatch(/sns\/|\d{3}/);
      if (kind.type === 'unreachable' || kind.type === 'malformed') expect(oauth.description).not.toContain(kind.detail);
    }
  });

  it.each([
    ['an OAuthError', new OAuthError('server_error', 'errcode 40001', 500)],
    ['a plain Error', new Error('errcode -1')],
    ['a TypeError from fetch', new TypeError('Network connection lost')],
    ['an object shaped like a WeChatFailure', { api: 'x', failure: { type: 'errcode', errcode: 40001, errmsg: '' }, spendsCode: false }],
    ['undefined', undefined],
  ])('%s is neither retried nor a refused token', (_, error) => {
    expect(isRetryable(error)).toBe(false);
    expect(isAccessTokenRefused(error)).toBe(false);
  });

  it('names the API, never the URL, in the WeChatFailure message', () => {
    const error = new WeChatFailure('sns/jscode2session', { type: 'errcode', errcode: 40029, errmsg: 'invalid code' }, true);
    expect(error.message).toBe('WeChat sns/jscode2session: errcode 40029 invalid code');
    expect(error.name).toBe('WeChatFailure');
  });
});
