import type { Context } from 'hono';
import { Hono } from 'hono';
import { type Env, getConfig, type WeChatApp } from '../config';
import { answerWithFault, type SandboxFault, takeFault } from './faults';
import { scenePng } from './png';

/**
 * The sandbox's fake of api.weixin.qq.com (docs/protocol.md §6): the same
 * paths, methods, parameters and JSON shapes as WeChat (docs/wechat.md), served in
 * process. Its state lives in KV under `sandbox:` so every isolate sees it:
 *
 *   sandbox:code:<code>            a minted code (SandboxCode), kept a while past expiry
 *   sandbox:stable_token:<appid>   the app's current stable access token
 *   sandbox:access_token:<token>   {appid, expiresAt}
 *   sandbox:sns_token:<token>      a SendAuth user's access token and profile
 *   sandbox:calls:<path>:<id>      one key per request, counted by sandboxCallCount
 *   sandbox:faults:<path>          the faults queued for the next requests to <path>
 *
 * Fault injection. Every failure WeChat can give, at any call of any flow:
 *
 *   - a code's own fault: `POST /sandbox/wechat/codes` with `"error"` set to a
 *     WeChat errcode (docs/protocol.md §6) or to one of the named faults below. The
 *     exchange of that code (sns/oauth2/access_token for app, Official Account
 *     and Website App codes, sns/jscode2session,
 *     wxa/business/getuserphonenumber for a phone code) spends the code,
 *     then fails that way.
 *   - a path's faults: `POST /sandbox/wechat/faults` with
 *     `{"path": "/cgi-bin/stable_token", "fault": 45011, "times": 1}` makes the
 *     next `times` (default 1, at most 100) requests to that API fail with
 *     `fault`, before anything else is looked at (no code is spent, no token
 *     checked), except "slow" and "timeout", which serve the request for real.
 *     Faults queued for one path are taken in order. `DELETE
 *     /sandbox/wechat/faults` drops them all. The queue is a KV read-modify-write:
 *     queue faults for sequential calls, not for a concurrent burst.
 *   - `GET /sandbox/wechat/calls?path=/sns/jscode2session`: `{"path", "count"}`,
 *     the requests the fake has served on that path in the last hour, faulted
 *     ones included (so a test can check retries).
 *
 * Faults (`SandboxFault`): a non-zero errcode (`{errcode, errmsg}`, HTTP 200,
 * e.g. -1 busy, 45011 quota, 40029 invalid code, 40163 used code, 40226 high
 * risk, 40001 / 42001 refused access token); "timeout" (served, but answered
 * after the client gave up: twice the client's timeout, WECHAT_TIMEOUT_MS,
 * 5 s by default, or at its abort); "slow" (answered correctly after a quarter
 * of the client's timeout: the call must succeed); "malformed_json" (HTTP 200,
 * truncated JSON); "http_<400-599>" (that status, an HTML body).
 */

/**
 * What a code comes from: a mobile app's SendAuth, a mini program's wx.login
 * or getPhoneNumber button, an Official Account's web authorization, a
 * Website App's QR login.
 */
export const SANDBOX_CODE_KINDS = ['app', 'miniprogram', 'phone', 'officialaccount', 'website'] as const;

export type SandboxCodeKind = (typeof SANDBOX_CODE_KINDS)[number];

/**
 * The codes sns/oauth2/access_token exchanges, and the WeChat scopes a person
 * can grant with each, the default first: SendAuth asks for the profile;
 * an Official Account silently (snsapi_base, openid only) or for the profile;
 * a Website App's QR login always gives it.
 */
export const SNS_SCOPES = {
  app: ['snsapi_userinfo'],
  officialaccount: ['snsapi_userinfo', 'snsapi_base'],
  website: ['snsapi_login'],
} as const;

export type SnsKind = keyof typeof SNS_SCOPES;
export type SnsScope = (typeof SNS_SCOPES)[SnsKind][number];

const SNS_KINDS = Object.keys(SNS_SCOPES) as SnsKind[];

export const isSnsKind = (kind: string): kind is SnsKind => SNS_KINDS.some((candidate) => candidate === kind);

/** The scope `value` names, if a code of `kind` can have it. */
export function snsScope(kind: SnsKind, value: unknown): SnsScope | undefined {
  const scopes: readonly SnsScope[] = SNS_SCOPES[kind];
  return scopes.find((scope) => scope === value);
}

export interface SandboxCode {
  kind: SandboxCodeKind;
  appid: string;
  openid: string;
  unionid?: string;
  nickname?: string;
  avatar?: string;
  /** E.164, phone codes only. */
  phone?: string;
  /** What the person granted, for the codes sns/oauth2/access_token exchanges only. */
  scope?: SnsScope;
  snapshot: boolean;
  /** The errcode or fault the exchange of this code fails with (after spending it). */
  error?: SandboxFault;
}

interface StoredCode extends SandboxCode {
  expiresAt: number;
  used: boolean;
}

interface StoredToken {
  appid: string;
  expiresAt: number;
}

interface StoredSnsToken extends StoredToken {
  /** snsapi_base grants no sns/userinfo. */
  scope?: SnsScope;
  openid: string;
  unionid?: string;
  nickname?: string;
  avatar?: string;
}

/** Code lifetimes in seconds: SendAuth and a Website App's 10 min; wx.login, getPhoneNumber and an Official Account's 5 min. */
const CODE_LIFETIME: Record<SandboxCodeKind, number> = { app: 600, miniprogram: 300, phone: 300, officialaccount: 300, website: 600 };
/** Expired codes and tokens are kept this long, so they answer 42003 / 42001 as WeChat does, not 40029 / 40001. */
const RETENTION = 600;
const TOKEN_LIFETIME = 7200;
/** stable_token's normal mode hands out a new token only when the current one has less than this left. */
const STABLE_TOKEN_RENEWAL = 300;

const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40003: 'invalid openid',
  40013: 'invalid appid',
  40029: 'invalid code',
  40125: 'invalid appsecret',
  40163: 'code been used',
  40169: 'invalid length for scene, or the data is not json string',
  40212: 'invalid query',
  41001: 'access_token missing',
  41002: 'appid missing',
  41004: 'appsecret missing',
  41008: 'missing code',
  42001: 'access_token expired',
  42003: 'code expired',
  47001: 'data format error',
  48001: 'api unauthorized',
  85401: 'time limit between 1min and 30days',
};

type SandboxContext = Context<{ Bindings: Env; Variables: { appid: string } }>;

export const sandboxApi = new Hono<{ Bindings: Env; Variables: { appid: string } }>();

sandboxApi.use('*', async (c, next) => {
  await c.env.KV.put(`sandbox:calls:${c.req.path}:${crypto.randomUUID()}`, '1', { expirationTtl: 3600 });
  await next();
});

// A queued path fault answers before anything else, the wxa/ access token check included.
sandboxApi.use('*', async (c, next) => {
  const fault = await takeFault(c.env.KV, c.req.path);
  if (fault === undefined) return next();
  return answerWithFault(
    c,
    fault,
    async () => {
      await next();
      return c.res;
    },
    (errcode) => refuse(c, errcode),
  );
});

/** How many requests the fake has served on `path` (e.g. `/sns/jscode2session`), across isolates. */
export async function sandboxCallCount(kv: KVNamespace, path: string): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix: `sandbox:calls:${path}:`, cursor });
    count += page.keys.length;
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return count;
}

// --- Mobile app (SendAuth), Official Account and Website App (web authorization) ---

sandboxApi.get('/sns/oauth2/access_token', async (c) => {
  const code = await exchangeCode(c, 'code', SNS_KINDS);
  if (typeof code === 'number') return refuse(c, code);
  return answerWithFault(c, code.error, () => snsGrant(c, code), (errcode) => refuse(c, errcode));
});

async function snsGrant(c: SandboxContext, code: StoredCode): Promise<Response> {
  const accessToken = randomId(64);
  const snsToken: StoredSnsToken = {
    appid: code.appid,
    expiresAt: Date.now() + TOKEN_LIFETIME * 1000,
    scope: code.scope,
    openid: code.openid,
    unionid: code.unionid,
    nickname: code.nickname,
    avatar: code.avatar,
  };
  await c.env.KV.put(`sandbox:sns_token:${accessToken}`, JSON.stringify(snsToken), { expirationTtl: TOKEN_LIFETIME + RETENTION });
  return c.json({
    access_token: accessToken,
    expires_in: TOKEN_LIFETIME,
    refresh_token: randomId(64),
    openid: code.openid,
    scope: code.scope,
    ...(code.unionid ? { unionid: code.unionid } : {}),
    ...(code.snapshot ? { is_snapshotuser: 1 } : {}),
  });
}

sandboxApi.get('/sns/userinfo', async (c) => {
  const token = await readToken<StoredSnsToken>(c, 'sns_token', c.req.query('access_token'));
  if (typeof token === 'number') return refuse(c, token);
  if (c.req.query('openid') !== token.openid) return refuse(c, 40003);
  if (token.scope === 'snsapi_base') return refuse(c, 48001);
  return c.json({
    openid: token.openid,
    // What WeChat answers for a user whose real profile is withheld.
    nickname: token.nickname ?? '微信用户',
    sex: 0,
    province: '',
    city: '',
    country: '',
    headimgurl: token.avatar ?? '',
    privilege: [],
    ...(token.unionid ? { unionid: token.unionid } : {}),
  });
});

// --- Mini program ------------------------------------------------------------

sandboxApi.get('/sns/jscode2session', async (c) => {
  const code = await exchangeCode(c, 'js_code', ['miniprogram']);
  if (typeof code === 'number') return refuse(c, code);
  const session = () =>
    c.json({
      openid: code.openid,
      session_key: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16)))),
      ...(code.unionid ? { unionid: code.unionid } : {}),
      ...(code.snapshot ? { is_snapshotuser: 1 } : {}),
    });
  return answerWithFault(c, code.error, session, (errcode) => refuse(c, errcode));
});

sandboxApi.post('/cgi-bin/stable_token', async (c) => {
  const body = await jsonBody(c);
  if (!body) return refuse(c, 47001);
  if (body.grant_type !== 'client_credential') return refuse(c, 40002);
  const app = checkApp(c, stringOrUndefined(body.appid), stringOrUndefined(body.secret));
  if (typeof app === 'number') return refuse(c, app);
  const kv = c.env.KV;
  const current = await kv.get(`sandbox:stable_token:${app.appid}`);
  const stored = current ? await kv.get<StoredToken>(`sandbox:access_token:${current}`, 'json') : null;
  const left = stored ? Math.floor((stored.expiresAt - Date.now()) / 1000) : 0;
  if (current && body.force_refresh !== true && left > STABLE_TOKEN_RENEWAL) {
    return c.json({ access_token: current, expires_in: left });
  }
  const token = randomId(136);
  const record: StoredToken = { appid: app.appid, expiresAt: Date.now() + TOKEN_LIFETIME * 1000 };
  await kv.put(`sandbox:access_token:${token}`, JSON.stringify(record), { expirationTtl: TOKEN_LIFETIME + RETENTION });
  await kv.put(`sandbox:stable_token:${app.appid}`, token, { expirationTtl: TOKEN_LIFETIME });
  return c.json({ access_token: token, expires_in: TOKEN_LIFETIME });
});

/** What WeChat does when a token's two hours are up; lets tests take the 42001 path. */
export async function expireAccessToken(kv: KVNamespace, token: string): Promise<void> {
  const stored = await kv.get<StoredToken>(`sandbox:access_token:${token}`, 'json');
  if (!stored) throw new Error('no such sandbox access token');
  const expired: StoredToken = { ...stored, expiresAt: Date.now() - 1000 };
  await kv.put(`sandbox:access_token:${token}`, JSON.stringify(expired), { expirationTtl: RETENTION });
}

// Every wxa/ API takes the stable access token, checked before anything else (so a refused call spends no code).
sandboxApi.use('/wxa/*', async (c, next) => {
  const token = await readToken<StoredToken>(c, 'access_token', c.req.query('access_token'));
  if (typeof token === 'number') return refuse(c, token);
  c.set('appid', token.appid);
  await next();
});

sandboxApi.post('/wxa/business/getuserphonenumber', async (c) => {
  const body = await jsonBody(c);
  if (!body) return refuse(c, 47001);
  const code = await spendCode(c, stringOrUndefined(body.code), 'phone', c.var.appid);
  if (typeof code === 'number') return refuse(c, code);
  const { countryCode, purePhoneNumber } = splitE164(code.phone ?? '+8613800138000');
  const phone = () =>
    c.json({
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        // WeChat adds the country code only to numbers outside mainland China.
        phoneNumber: countryCode === '86' ? purePhoneNumber : `+${countryCode}${purePhoneNumber}`,
        purePhoneNumber,
        countryCode,
        watermark: { timestamp: Math.floor(Date.now() / 1000), appid: c.var.appid },
      },
    });
  return answerWithFault(c, code.error, phone, (errcode) => refuse(c, errcode));
});

sandboxApi.post('/wxa/getwxacodeunlimit', async (c) => {
  const body = await jsonBody(c);
  const scene = body?.scene;
  if (typeof scene !== 'string' || scene.length === 0 || scene.length > 32) return refuse(c, 40169);
  return c.body(await scenePng(scene), 200, { 'content-type': 'image/png' });
});

sandboxApi.post('/wxa/generatescheme', async (c) => {
  const body = await jsonBody(c);
  if (!body) return refuse(c, 47001);
  const jump = body.jump_wxa;
  const query = typeof jump === 'object' && jump !== null && 'query' in jump ? jump.query : undefined;
  if (query !== undefined && (typeof query !== 'string' || query.length > 1024)) return refuse(c, 40212);
  if (!validSchemeExpiry(body)) return refuse(c, 85401);
  return c.json({ errcode: 0, errmsg: 'ok', openlink: `weixin://dl/business/?t=${randomId(13)}` });
});

/** expire_type 0: expire_time (epoch s) more than a minute and at most 30 days away; 1: expire_interval of 1..30 days. */
function validSchemeExpiry(body: Record<string, unknown>): boolean {
  const { expire_type: type = 0, expire_time: time, expire_interval: interval } = body;
  if (type === 1) return typeof interval === 'number' && interval >= 1 && interval <= 30;
  if (type !== 0 || typeof time !== 'number') return false;
  const seconds = time - Date.now() / 1000;
  return seconds > 60 && seconds <= 30 * 24 * 3600;
}

// --- Helpers -------------------------------------------------------------------

/**
 * sns/oauth2/access_token and sns/jscode2session: the app's credentials, then
 * the code in `param`, which must be of the app's own kind. An app of a kind
 * the API does not serve has no codes there: whatever it sends is unknown.
 */
async function exchangeCode(c: SandboxContext, param: 'code' | 'js_code', kinds: readonly SandboxCodeKind[]): Promise<StoredCode | number> {
  const app = checkApp(c, c.req.query('appid'), c.req.query('secret'));
  if (typeof app === 'number') return app;
  if (c.req.query('grant_type') !== 'authorization_code') return 40002;
  const value = c.req.query(param);
  if (value && !kinds.includes(app.kind)) return 40029;
  return spendCode(c, value, app.kind, app.appid);
}

/** 41002 / 41004 missing, 40013 unknown appid, 40125 wrong secret: the checks of every secret-bearing API. */
function checkApp(c: SandboxContext, appid: string | undefined, secret: string | undefined): WeChatApp | number {
  if (!appid) return 41002;
  if (!secret) return 41004;
  const app = getConfig(c.env).wechatApps.find((candidate) => candidate.appid === appid);
  if (!app) return 40013;
  return app.secret === secret ? app : 40125;
}

/** Stores `code` (from parseMintRequest) for the fake to exchange; returns its value. */
export async function mintCode(kv: KVNamespace, code: SandboxCode): Promise<string> {
  const value = randomId(32);
  const lifetime = CODE_LIFETIME[code.kind];
  const stored: StoredCode = { ...code, expiresAt: Date.now() + lifetime * 1000, used: false };
  await kv.put(`sandbox:code:${value}`, JSON.stringify(stored), { expirationTtl: lifetime + RETENTION });
  return value;
}

/**
 * WeChat spends a code on its first exchange, even one that fails: mark it
 * used, then answer the minted errcode if any (a named fault is the caller's
 * to answer, with `answerWithFault`). A code of another kind or app is unknown.
 */
async function spendCode(c: SandboxContext, value: string | undefined, kind: SandboxCodeKind, appid: string): Promise<StoredCode | number> {
  if (!value) return 41008;
  const key = `sandbox:code:${value}`;
  const stored = await c.env.KV.get<StoredCode>(key, 'json');
  if (!stored || stored.kind !== kind || stored.appid !== appid) return 40029;
  if (stored.used) return 40163;
  if (stored.expiresAt <= Date.now()) return 42003;
  const left = Math.ceil((stored.expiresAt - Date.now()) / 1000);
  await c.env.KV.put(key, JSON.stringify({ ...stored, used: true }), { expirationTtl: left + RETENTION });
  return typeof stored.error === 'number' ? stored.error : stored;
}

/** 41001 missing, 40001 unknown, 42001 expired. */
async function readToken<T extends StoredToken>(
  c: SandboxContext,
  prefix: 'access_token' | 'sns_token',
  token: string | undefined,
): Promise<T | number> {
  if (!token) return 41001;
  const stored = await c.env.KV.get<T>(`sandbox:${prefix}:${token}`, 'json');
  if (!stored) return 40001;
  return stored.expiresAt > Date.now() ? stored : 42001;
}

function refuse(c: SandboxContext, errcode: number) {
  return c.json({ errcode, errmsg: `${ERRMSG[errcode] ?? 'sandbox error'} rid: ${randomId(8)}` });
}

async function jsonBody(c: SandboxContext): Promise<Record<string, unknown> | undefined> {
  try {
    const body: unknown = await c.req.json();
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomId(length: number, alphabet = ALPHANUMERIC): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(length)), (byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * ITU-T E.164 country codes: 1 and 7 have one digit, the prefixes below two,
 * every other code three (852 Hong Kong, 886 Taiwan, ...).
 */
export function splitE164(phone: string): { countryCode: string; purePhoneNumber: string } {
  const digits = phone.slice(1);
  const length = /^[17]/.test(digits) ? 1 : /^(2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58])/.test(digits) ? 2 : 3;
  return { countryCode: digits.slice(0, length), purePhoneNumber: digits.slice(length) };
}
