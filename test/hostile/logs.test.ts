/**
 * A failed D1 query never puts its parameters in the log. drizzle reports a
 * failed query as "Failed query: <sql> params: <values>", and the values are
 * openids, phone numbers and login ids. The failure here is a real one of D1:
 * a trigger in this test's own database refuses the write of an approval
 * (a batch, with its audit entry), reached through the public handoff
 * endpoint, or of a revoked access token (one query), through RFC 7009's.
 */
import { env } from 'cloudflare:workers';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logSummary } from '../../src/errors';
import { authorizeUrl, Browser, startLogin, webClientMetadata } from '../support/browser';
import { call, claimsOf, login, mint, postForm, register, uniqueId } from '../support/oidc';

const REFUSAL = 'approvals are refused by this test';

beforeEach(async () => {
  await env.DB.exec(`CREATE TRIGGER refuse_approvals BEFORE INSERT ON login_approvals BEGIN SELECT RAISE(ABORT, '${REFUSAL}'); END`);
  await env.DB.exec(`CREATE TRIGGER refuse_revocations BEFORE INSERT ON revoked_access_tokens BEGIN SELECT RAISE(ABORT, '${REFUSAL}'); END`);
});

afterEach(async () => {
  await env.DB.exec('DROP TRIGGER IF EXISTS refuse_approvals');
  await env.DB.exec('DROP TRIGGER IF EXISTS refuse_revocations');
  vi.restoreAllMocks();
});

describe('hostile input: what a failed D1 query logs', () => {
  it('logs the reason D1 gave, never the values of the query', async () => {
    const client = await register(webClientMetadata);
    const loginId = await startLogin(new Browser(), authorizeUrl(client));
    const openid = uniqueId('oLogged');
    const minted = await mint({ kind: 'miniprogram', openid, appid: 'wx0000000000mini01' });
    const logged: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));

    const response = await call('/wechat/handoff', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ login: loginId, code: minted.code, appid: minted.appid }),
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'server_error', error_description: 'the server failed to process the request' });

    const log = logged.join('\n');
    expect(log).toContain(`D1_ERROR: ${REFUSAL}`);
    for (const value of [openid, loginId, minted.appid, 'login_approvals']) expect(log).not.toContain(value);
  });

  it('logs the reason D1 gave for one failed query, never its values', async () => {
    const client = await register();
    const tokens = await login(client, { kind: 'miniprogram', appid: 'wx0000000000mini01' });
    const logged: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));

    const response = await postForm('/revoke', client, { token: tokens.access_token });
    expect(response.status).toBe(500);

    const log = logged.join('\n');
    expect(log).toContain('DrizzleQueryError');
    expect(log).toContain(REFUSAL);
    for (const value of [claimsOf(tokens.access_token).jti as string, 'revoked_access_tokens']) expect(log).not.toContain(value);
  });

  it('withholds a reason that quotes a parameter', () => {
    const error = new DrizzleQueryError('insert into "users" ("phone_number") values (?)', ['+8613800138000'], new Error("D1_TYPE_ERROR: Type 'x' not supported for value '+8613800138000'"));
    expect(error.message).toContain('+8613800138000');
    const summary = logSummary(error);
    expect(summary).toMatch(/^DrizzleQueryError: /);
    expect(summary).not.toContain('+8613800138000');
    expect(summary).not.toContain('users');
  });
});
