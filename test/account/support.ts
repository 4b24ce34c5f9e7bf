/** The mini program's account endpoints as it calls them, and what a person leaves in D1. */
import { env } from 'cloudflare:workers';
import { vi } from 'vitest';
import type { Delivery } from '../../src/notify/outbox';
import { call, mint } from '../support/oidc';

export const MINI_APPID = 'wx0000000000mini01';

export interface Person {
  openid: string;
  unionid?: string;
}

/** POST /wechat/account<path> with a fresh wx.login code of `person` (or `body` as given). */
export async function accountCall(path: '' | '/delete' | '/revoke', person: Person, extra: Record<string, unknown> = {}) {
  const minted = await mint({ kind: 'miniprogram', appid: MINI_APPID, openid: person.openid, unionid: person.unionid });
  return postAccount(path, { code: minted.code, appid: minted.appid, ...extra });
}

export const postAccount = (path: string, body: unknown) =>
  call(`/wechat/account${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/**
 * What the bridge hands the deliveries queue from now on (webhook events,
 * back-channel logouts); read after the response, once deferred work ran.
 * Once per test: vi.restoreAllMocks() undoes it.
 */
export function watchDeliveries(): () => Delivery[] {
  const sent: Delivery[] = [];
  const original = env.DELIVERIES.sendBatch.bind(env.DELIVERIES);
  vi.spyOn(env.DELIVERIES, 'sendBatch').mockImplementation(async (messages) => {
    for (const message of messages) sent.push(message.body as Delivery);
    return original(messages);
  });
  return () => sent;
}

/** Every row of every table (listed from sqlite_master) that contains any of `values`, as "table: row". */
export async function rowsNaming(values: readonly string[], except: readonly string[] = []): Promise<string[]> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
  ).all<{ name: string }>();
  const names = tables.results.map((table) => table.name).filter((name) => !except.includes(name));
  const rows = await env.DB.batch(names.map((name) => env.DB.prepare(`SELECT * FROM "${name}"`)));
  const found: string[] = [];
  names.forEach((name, i) => {
    for (const row of rows[i]!.results) {
      const text = JSON.stringify(row);
      if (values.some((value) => text.includes(value))) found.push(`${name}: ${text}`);
    }
  });
  return found;
}

/** The audit entries of a user, newest first, straight from D1. */
export const auditOf = async (userId: string) =>
  (
    await env.DB.prepare('SELECT event, actor, client_id, detail FROM audit_log WHERE user_id = ? ORDER BY id DESC').bind(userId).all<{
      event: string;
      actor: string;
      client_id: string | null;
      detail: string | null;
    }>()
  ).results.map((row) => ({ ...row, detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>) }));
