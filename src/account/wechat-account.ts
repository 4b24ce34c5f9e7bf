/**
 * The person's own account, from the mini program (docs/protocol.md
 * "Leaving"): `POST /wechat/account` lists the applications they approved,
 * `/wechat/account/revoke` withdraws one, `/wechat/account/delete` deletes
 * the account (PIPL's 注销). Each call proves who is asking with a fresh
 * wx.login code, exchanged as the handoff does; everything that can be
 * refused without WeChat is refused before the code is spent.
 */
import { Hono } from 'hono';
import type { Config, WeChatApp } from '../config';
import { bridge, type AppEnv, type Bridge } from '../context';
import { invalidGrant, invalidRequest, OAuthError } from '../errors';
import { isWeChatCode } from '../login/wechat-apps';
import { isPlainClientId, liveGrants, userOfWeChat } from '../store/accounts';
import { findClient } from '../store/clients';
import type { ClientMetadata } from '../types';
import { readJson } from '../web/request';
import { deleteAccount, revokeClient } from './leaving';

interface AccountBody {
  code: string;
  appid?: string;
  clientId?: string;
}

function parseAccountBody(body: unknown, wantsClient: boolean): AccountBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('the body must be a JSON object');
  const { code, appid, client_id: clientId } = body as Record<string, unknown>;
  for (const [name, value] of Object.entries({ code, appid, client_id: clientId })) {
    if (value !== undefined && typeof value !== 'string') throw invalidRequest(`${name} must be a string`);
  }
  if (code === undefined) throw invalidRequest('code (from wx.login) is required');
  if (wantsClient && clientId === undefined) throw invalidRequest('client_id is required');
  return { code: code as string, appid: appid as string | undefined, clientId: clientId as string | undefined };
}

/** The mini program the code comes from: the one named, or the first configured (the one logins show when a client names none). */
export function accountMiniProgram(config: Config, appid: string | undefined): WeChatApp {
  const app = config.wechatApps.find((candidate) => candidate.kind === 'miniprogram' && (appid === undefined || candidate.appid === appid));
  if (app) return app;
  throw invalidRequest(appid === undefined ? 'no WeChat mini program is configured' : 'appid is not a configured WeChat mini program');
}

const unknownPerson = () => new OAuthError('user_not_found', 'this WeChat account has no account here', 404);
const unknownClient = () => new OAuthError('client_not_found', 'no application has this client_id', 404);

/** Who the code's WeChat account is here: their user id, or 404. WeChat is called last, once everything else was checked. */
async function person(context: Bridge, body: AccountBody): Promise<string> {
  const app = accountMiniProgram(context.config, body.appid);
  if (!isWeChatCode(body.code)) throw invalidGrant('the WeChat code is invalid');
  const login = await context.wechat().miniProgramLogin(app, body.code, {});
  const userId = await userOfWeChat(context.db, login);
  if (userId === undefined) throw unknownPerson();
  return userId;
}

export interface ApprovedClient {
  client_id: string;
  client_name: string;
  client_uri?: string;
  logo_uri?: string;
  scopes: string[];
  /** The latest login to it, seconds since the epoch. */
  last_login_at: number;
}

/** Live grants as one entry per client: every scope granted, the latest login; the most recently used first. */
export function approvedClients(rows: readonly { clientId: string; scope: string; authTime: number; metadata: ClientMetadata }[]): ApprovedClient[] {
  const byClient = new Map<string, ApprovedClient>();
  for (const { clientId, scope, authTime, metadata } of rows) {
    const entry = byClient.get(clientId) ?? {
      client_id: clientId,
      client_name: metadata.client_name ?? clientId,
      ...(metadata.client_uri && { client_uri: metadata.client_uri }),
      ...(metadata.logo_uri && { logo_uri: metadata.logo_uri }),
      scopes: [],
      last_login_at: authTime,
    };
    entry.scopes = [...new Set([...entry.scopes, ...scope.split(' ')])];
    entry.last_login_at = Math.max(entry.last_login_at, authTime);
    byClient.set(clientId, entry);
  }
  // The latest login first; ties (one second) by client_id, so that the order is stable.
  return [...byClient.values()].sort((a, b) => b.last_login_at - a.last_login_at || (a.client_id < b.client_id ? -1 : 1));
}

export const wechatAccount = new Hono<AppEnv>()
  .post('/', async (c) => {
    const context = bridge(c);
    const userId = await person(context, parseAccountBody(await readJson(c), false));
    return c.json({ clients: approvedClients(await liveGrants(context.db, userId, context.now)) });
  })
  .post('/revoke', async (c) => {
    const context = bridge(c);
    const body = parseAccountBody(await readJson(c), true);
    const clientId = body.clientId!;
    // An unknown client is refused before the person's code is spent.
    if (!isPlainClientId(clientId) || !(await findClient(context.db, clientId))) throw unknownClient();
    const userId = await person(context, body);
    return c.json({ client_id: clientId, grants_revoked: await revokeClient(context, userId, clientId) });
  })
  .post('/delete', async (c) => {
    const context = bridge(c);
    const userId = await person(context, parseAccountBody(await readJson(c), false));
    // Two deletions at once: the second finds nobody left.
    if (!(await deleteAccount(context, userId, 'user'))) throw unknownPerson();
    return c.json({ status: 'deleted' });
  });
