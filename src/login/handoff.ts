/**
 * `POST /wechat/handoff` (docs/protocol.md §5): the mini program approves a
 * pending login with its wx.login code (and optionally a getPhoneNumber
 * code). The login is checked before WeChat is called, so a used or unknown
 * login never spends the user's codes; the approval row is the once-only guard.
 */
import type { SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { bridge, type AppEnv } from '../context';
import { invalidGrant, invalidRequest, OAuthError } from '../errors';
import { approvalStatements, findApproval, insertApproval } from '../store/approvals';
import { findClient } from '../store/clients';
import { isUniqueViolation } from '../store/db';
import { bindLogin, boundUserId } from '../store/identities';
import { getPendingLogin } from '../store/pending-logins';
import { readJson } from '../web/request';
import { announceBinding } from './life-cycle';
import { LOGIN_ID } from './pending';
import { chooseWeChatApp, isWeChatCode, loginMiniProgram } from './wechat-apps';

interface HandoffBody {
  login: string;
  code: string;
  phoneCode?: string;
  appid?: string;
  deny: boolean;
}

function parseHandoff(body: unknown): HandoffBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('the body must be a JSON object');
  const { login, code, phone_code: phoneCode, appid, deny = false } = body as Record<string, unknown>;
  if (typeof login !== 'string') throw invalidRequest('login must be a string');
  if (typeof deny !== 'boolean') throw invalidRequest('deny must be a boolean');
  for (const [name, value] of Object.entries({ code, phone_code: phoneCode, appid })) {
    if (value !== undefined && typeof value !== 'string') throw invalidRequest(`${name} must be a string`);
  }
  // A deny is proven like an approval: only a person in WeChat may answer a login.
  if (code === undefined) throw invalidRequest('code (from wx.login) is required');
  return { login, code: code as string, phoneCode: phoneCode as string | undefined, appid: appid as string | undefined, deny };
}

const usedLogin = () => new OAuthError('login_already_used', 'this login was already answered', 409);
const unknownLogin = () => new OAuthError('login_not_found', 'no pending login has this id, or it expired', 404);

export const handoff = new Hono<AppEnv>()
  /**
   * `GET /wechat/handoff/<login>`: what the mini program shows before the person
   * approves: which application, which scopes, and what is waiting. Never a
   * secret nor who the person is; an answered login is as gone as an unknown one.
   */
  .get('/:login', async (c) => {
    const { db, env, now } = bridge(c);
    const id = c.req.param('login');
    if (!LOGIN_ID.test(id)) throw unknownLogin();
    const [pending, answered] = await Promise.all([getPendingLogin(env.KV, id, now), findApproval(db, id)]);
    const client = pending && !answered ? await findClient(db, pending.clientId) : undefined;
    if (!pending || !client) throw unknownLogin();
    return c.json({
      kind: pending.authorization ? 'browser' : 'device',
      client_id: client.clientId,
      client_name: client.metadata.client_name ?? client.clientId,
      ...(client.metadata.client_uri && { client_uri: client.metadata.client_uri }),
      ...(client.metadata.logo_uri && { logo_uri: client.metadata.logo_uri }),
      scopes: pending.scopes,
      expires_at: pending.expiresAt,
      device: pending.device ?? {},
    });
  })
  .post('/', async (c) => {
  const context = bridge(c);
  const { db, env, now, config } = context;
  const body = parseHandoff(await readJson(c));
  // An id no login could have is unknown, as on GET: nothing is looked up, no code is spent.
  if (!LOGIN_ID.test(body.login)) throw unknownLogin();

  const [pending, answered] = await Promise.all([getPendingLogin(env.KV, body.login, now), findApproval(db, body.login)]);
  if (!pending) throw unknownLogin();
  if (answered) throw usedLogin();
  const client = await findClient(db, pending.clientId);
  if (!client) throw unknownLogin();

  // Without an appid, the code comes from the mini program the login page showed.
  const app = body.appid === undefined ? loginMiniProgram(config, client) : chooseWeChatApp(config, client, 'miniprogram', body.appid);
  if (!app) throw invalidRequest('no WeChat mini program is available to this client');
  if (!isWeChatCode(body.code)) throw invalidGrant('the WeChat code is invalid');
  if (body.phoneCode !== undefined && !isWeChatCode(body.phoneCode)) throw invalidGrant('the WeChat phone code is invalid');
  const audit = (approved: boolean, userId: string | SQL | null) => ({
    event: approved ? ('login.approved' as const) : ('login.denied' as const),
    actor: 'user' as const,
    userId,
    clientId: client.clientId,
    detail: { door: 'miniprogram' as const, appid: app.appid },
  });
  const door = { clientId: client.clientId, appid: app.appid, door: 'miniprogram' as const };
  try {
    if (body.deny) {
      // Who said no is recorded; nobody is bound, and a phone code is not spent.
      const login = await context.wechat().miniProgramLogin(app, body.code, {});
      await insertApproval(db, { loginId: body.login, approved: false, userId: null, wechatAppid: login.appid, wechatOpenid: login.openid, authTime: now }, audit(false, null));
      return c.json({ status: 'denied', client_name: client.metadata.client_name ?? null });
    }
    const login = await context.wechat().miniProgramLogin(app, body.code, { phoneCode: body.phoneCode });
    // The binding this login makes (if any) and the approval: one batch.
    const userId = boundUserId(login);
    const approval = { loginId: body.login, approved: true, userId, wechatAppid: login.appid, wechatOpenid: login.openid, authTime: now };
    const { subject, binding } = await bindLogin(db, login, now, client.clientId, approvalStatements(db, approval, audit(true, userId)));
    announceBinding(context, { ...door, userId: subject.id }, binding);
  } catch (error) {
    // Answered meanwhile: the login_approvals key refused this answer.
    if (isUniqueViolation(error)) throw usedLogin();
    throw error;
  }
  return c.json({ status: 'approved', client_name: client.metadata.client_name ?? null });
});
