import type { Context } from 'hono';
import { Hono } from 'hono';
import { type Env, getConfig, isLoopbackHost, type WeChatApp } from '../config';
import { clearFaults, FAULT_HINT, parseFault, queueFault, SANDBOX_PATHS } from './faults';
import { isSnsKind, mintCode, randomId, SANDBOX_CODE_KINDS, sandboxCallCount, type SandboxCode, SNS_SCOPES, snsScope } from './wechat-api';

/**
 * `POST /sandbox/wechat/codes` (docs/protocol.md §6): mints the code a WeChat
 * client would have received, for the fake in `wechat-api.ts` to exchange.
 * Also the sandbox's fault injection (`/faults`) and call counter (`/calls`):
 * see "Fault injection" in wechat-api.ts.
 */
/** Where the development entry mounts these routes. */
export const SANDBOX_PATH = '/sandbox/wechat';

export const sandboxRoutes = new Hono<{ Bindings: Env }>();

// Minting identities is for a developer's own machine: whatever the issuer, another host gets nothing.
sandboxRoutes.use('*', async (c, next) => {
  if (!isLoopbackHost(new URL(c.req.url).hostname)) return c.json({ error: 'not_found', error_description: 'no such endpoint' }, 404);
  await next();
});

/**
 * The body of a sandbox POST: application/json only, or the refusal to send.
 * A web page of any origin may send a "simple" cross-origin POST (text/plain,
 * a form) without asking; JSON needs a CORS preflight, which the sandbox
 * never answers. Without this, any page a developer visits could mint
 * identities on the local bridge or queue faults.
 */
async function jsonBody(c: Context<{ Bindings: Env }>): Promise<{ body: unknown } | { refused: Response }> {
  if (!/^application\/json(\s*;|$)/i.test(c.req.header('Content-Type') ?? '')) {
    return { refused: c.json({ error: 'invalid_request', error_description: 'the body must be application/json' }, 415) };
  }
  try {
    return { body: await c.req.json() };
  } catch {
    return { refused: c.json({ error: 'invalid_request', error_description: 'the body must be JSON' }, 400) };
  }
}

sandboxRoutes.post('/codes', async (c) => {
  const read = await jsonBody(c);
  if ('refused' in read) return read.refused;
  const parsed = parseMintRequest(read.body, getConfig(c.env).wechatApps);
  if (typeof parsed === 'string') return c.json({ error: 'invalid_request', error_description: parsed }, 400);
  return c.json({ code: await mintCode(c.env.KV, parsed), appid: parsed.appid });
});

/** `{"path": "/cgi-bin/stable_token", "fault": <errcode> | "timeout" | ..., "times"?: 1}`: the next `times` requests to `path` fail. */
sandboxRoutes.post('/faults', async (c) => {
  const read = await jsonBody(c);
  if ('refused' in read) return read.refused;
  const parsed = parseFaultRequest(read.body);
  if (typeof parsed === 'string') return c.json({ error: 'invalid_request', error_description: parsed }, 400);
  const queued = await queueFault(c.env.KV, parsed.path, parsed.fault, parsed.times);
  return c.json({ ...parsed, queued });
});

/** Drops every queued path fault. */
sandboxRoutes.delete('/faults', async (c) => {
  return c.json({ dropped: await clearFaults(c.env.KV) });
});

/** `?path=/sns/jscode2session`: how many requests the fake served there (in the last hour). */
sandboxRoutes.get('/calls', async (c) => {
  const path = sandboxPath(c.req.query('path'));
  if (!path) return c.json({ error: 'invalid_request', error_description: `path must be one of ${SANDBOX_PATHS.join(', ')}` }, 400);
  return c.json({ path, count: await sandboxCallCount(c.env.KV, path) });
});

/** A fake API path, with or without its leading slash. */
function sandboxPath(value: unknown): (typeof SANDBOX_PATHS)[number] | undefined {
  if (typeof value !== 'string') return undefined;
  const path = value.startsWith('/') ? value : `/${value}`;
  return SANDBOX_PATHS.find((candidate) => candidate === path);
}

export function parseFaultRequest(body: unknown) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const { path: rawPath, fault: rawFault, times = 1, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) return 'the body has an unknown field';
  const path = sandboxPath(rawPath);
  if (!path) return `path must be one of ${SANDBOX_PATHS.join(', ')}`;
  const fault = parseFault(rawFault);
  if (fault === undefined) return `fault must be ${FAULT_HINT}`;
  if (typeof times !== 'number' || !Number.isInteger(times) || times < 1 || times > 100) return 'times must be a whole number from 1 to 100';
  return { path, fault, times };
}

const FIELDS = new Set(['kind', 'openid', 'unionid', 'nickname', 'avatar', 'phone', 'snapshot', 'error', 'appid', 'scope']);
/** WeChat ids are base64url-ish: openids are "o" and 27 more characters. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const OPENID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The minted code, or what is wrong with the request. */
export function parseMintRequest(body: unknown, apps: readonly WeChatApp[]): SandboxCode | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const fields: Record<string, unknown> = { ...body };
  const unknown = Object.keys(fields).find((name) => !FIELDS.has(name));
  if (unknown) return 'the body has an unknown field';
  const { kind, openid, unionid, nickname, avatar, phone, snapshot, error, appid, scope } = fields;

  const codeKind = SANDBOX_CODE_KINDS.find((candidate) => candidate === kind);
  if (!codeKind) return `kind must be one of ${SANDBOX_CODE_KINDS.map((name) => `"${name}"`).join(', ')}`;
  // The codes sns/oauth2/access_token exchanges carry what the person granted; the others have no scope.
  const granted = isSnsKind(codeKind) ? (scope === undefined ? SNS_SCOPES[codeKind][0] : snsScope(codeKind, scope)) : undefined;
  if (isSnsKind(codeKind) && !granted) return `scope must be ${SNS_SCOPES[codeKind].join(' or ')} for a ${codeKind} code`;
  if (!isSnsKind(codeKind) && scope !== undefined) return `a ${codeKind} code has no scope`;
  if (openid !== undefined && !(typeof openid === 'string' && ID.test(openid))) return 'openid must be 1-64 of [A-Za-z0-9_-]';
  if (unionid !== undefined && !(typeof unionid === 'string' && ID.test(unionid))) return 'unionid must be 1-64 of [A-Za-z0-9_-]';
  if (nickname !== undefined && !(typeof nickname === 'string' && nickname.length <= 100)) return 'nickname must be a string';
  if (avatar !== undefined && !(typeof avatar === 'string' && /^https?:\/\/\S+$/.test(avatar))) return 'avatar must be an http(s) URL';
  const e164 = phone === undefined ? undefined : normalizePhone(phone);
  if (e164 === null) return 'phone must be E.164 ("+8613800138000") or a mainland number';
  if (snapshot !== undefined && typeof snapshot !== 'boolean') return 'snapshot must be a boolean';
  const fault = error === undefined ? undefined : parseFault(error);
  if (error !== undefined && fault === undefined) return `error must be ${FAULT_HINT}`;
  if (appid !== undefined && typeof appid !== 'string') return 'appid must be a string';

  // A phone code comes from a mini program's getPhoneNumber button.
  const appKind = codeKind === 'phone' ? 'miniprogram' : codeKind;
  const app = appid === undefined ? apps.find((a) => a.kind === appKind) : apps.find((a) => a.appid === appid);
  if (!app) return appid === undefined ? `no ${appKind} is configured` : 'appid is not a configured WeChat app';
  if (app.kind !== appKind) return `${app.appid} is not a ${appKind}`;

  return {
    kind: codeKind,
    appid: app.appid,
    openid: openid ?? `o${randomId(27, OPENID_ALPHABET)}`,
    unionid,
    nickname,
    avatar,
    phone: codeKind === 'phone' ? (e164 ?? `+86138${randomId(8, '0123456789')}`) : undefined,
    scope: granted,
    snapshot: snapshot === true,
    error: fault,
  };
}

/** E.164 as is; 11 digits starting with 1 are a mainland China number. */
function normalizePhone(phone: unknown): string | null {
  if (typeof phone !== 'string') return null;
  if (/^\+[1-9]\d{6,14}$/.test(phone)) return phone;
  if (/^1\d{10}$/.test(phone)) return `+86${phone}`;
  return null;
}
