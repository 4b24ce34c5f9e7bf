/**
 * What a login tells the audit log and the webhooks (docs/protocol.md "The
 * audit log", "Life-cycle events"): who signed in to which client, through which door.
 * The audit entry is a statement for the batch the login already writes; the
 * events leave after the response. Neither names an openid, a unionid or a
 * phone number: the person is their public `sub` (the user's id).
 */
import { sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Config } from '../config';
import type { Bridge } from '../context';
import { announce, type LifeEvent } from '../notify/outbox';
import { auditStatement, type LoginDoor } from '../store/audit';
import type { Binding } from '../store/identities';

export interface LoginFacts {
  userId: string;
  clientId: string;
  /** The WeChat app the person used (for a session's reuse, the one the session came from). */
  appid: string;
  door: LoginDoor;
}

/** The door of a WeChat app: its kind. An app no longer configured was a mini program's handoff, the only door left without one. */
export const doorOf = (config: Config, appid: string): LoginDoor =>
  config.wechatApps.find((app) => app.appid === appid)?.kind ?? 'miniprogram';

/** `doorOf` in SQL, of an appid column: for an audit entry that a batch writes by `INSERT … SELECT`. */
export const doorOfColumn = (config: Config) => (appid: SQLiteColumn): SQL =>
  sql`CASE ${appid} ${sql.join(config.wechatApps.map((app) => sql`WHEN ${app.appid} THEN ${app.kind}`), sql` `)} ELSE ${'miniprogram' satisfies LoginDoor} END`;

/** The audit entry of a successful login, for the batch that makes its grant or session. */
export const loginAudit = (bridge: Bridge, facts: Omit<LoginFacts, 'userId'> & { userId: string | SQL }) =>
  auditStatement(
    bridge.db,
    { event: 'login', actor: 'user', userId: facts.userId, clientId: facts.clientId, detail: { door: facts.door, appid: facts.appid } },
    bridge.now,
  );

/** `login.succeeded` for a login that made a grant or a session, after any binding it made. */
export function announceLogin(bridge: Bridge, facts: LoginFacts, binding?: Binding): void {
  announce(bridge, [
    ...(binding ? [bindingEvent(bridge.now, facts, binding)] : []),
    { type: 'login.succeeded', at: bridge.now, data: { sub: facts.userId, client_id: facts.clientId, door: facts.door, wechat_appid: facts.appid } },
  ]);
}

/** `user.created` or `user.linked` for a binding whose login goes on elsewhere (an approval in the mini program, WeChat's web callback). */
export function announceBinding(bridge: Bridge, facts: LoginFacts, binding: Binding | undefined): void {
  if (binding) announce(bridge, [bindingEvent(bridge.now, facts, binding)]);
}

function bindingEvent(at: number, facts: LoginFacts, binding: Binding): LifeEvent {
  const data = { sub: facts.userId, client_id: facts.clientId, door: facts.door, wechat_appid: facts.appid };
  return binding.event === 'user.created' ? { type: 'user.created', at, data } : { type: 'user.linked', at, data: { ...data, how: binding.how } };
}
