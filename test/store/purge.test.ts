/**
 * The scheduled purge (docs/storage.md "Retention"), run through the entries'
 * `scheduled` handlers as a Cron Trigger runs it. The run's time is the
 * controller's scheduledTime, so a boundary is met to the second.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { getConfig, type Env } from '../../src/config';
import { sha256 } from '../../src/crypto';
import dev from '../../src/dev';
import production from '../../src/index';
import { database } from '../../src/store/db';
import { purge, purgeCutoffs, purgeStatements } from '../../src/store/purge';
import { approve, Browser, browserLogin, pkce, redeem, startLogin, authorizeUrl, webClientMetadata } from '../support/browser';
import { call, postForm, register, uniqueId, type RegisteredClient } from '../support/oidc';

const { ttl } = getConfig(env);
/** The minute every rule keeps beyond its argument (docs/storage.md "Retention"), for clocks that differ. */
const SLACK = 60;
/** How long an expired device code still answers expired_token (RFC 8628 §3.5, docs/storage.md). */
const DEVICE_GRACE = 3600;
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

const db = database(env.DB);
const nowSeconds = () => Math.floor(Date.now() / 1000);
const sql = (query: string, ...values: unknown[]) => env.DB.prepare(query).bind(...values);

/** What a Cron Trigger does: the entry's scheduled handler, as of `at` (epoch seconds). */
async function runScheduled(at: number, entry: { scheduled(controller: ScheduledController, env: Env): Promise<void> } = dev, bindings: Env = env) {
  const controller = createScheduledController({ scheduledTime: at * 1000, cron: '*/10 * * * *' });
  const ctx = createExecutionContext();
  await entry.scheduled(controller, bindings);
  await waitOnExecutionContext(ctx);
}

const present = async (table: string, column: string, value: string) =>
  (await sql(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`, value).first<{ n: number }>())!.n === 1;

let userId: string;
let clientId: string;

beforeAll(async () => {
  userId = uniqueId('user-');
  clientId = uniqueId('client-');
  await env.DB.batch([
    sql('INSERT INTO users (id, created_at, updated_at) VALUES (?, 0, 0)', userId),
    sql("INSERT INTO clients (client_id, metadata, client_id_issued_at) VALUES (?, '{}', 0)", clientId),
  ]);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** One row of each kind, by the time its rule reads; returns its key. */
const seed = {
  session: async (expiresAt: number) => {
    const id = uniqueId('session-');
    await sql("INSERT INTO sessions (id_hash, user_id, wechat_appid, wechat_openid, auth_time, amr, expires_at) VALUES (?, ?, 'wx', 'openid', 0, 'wechat', ?)", id, userId, expiresAt).run();
    return id;
  },
  revokedAccessToken: async (expiresAt: number) => {
    const jti = uniqueId('jti-');
    await sql('INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?)', jti, expiresAt).run();
    return jti;
  },
  grant: async (expiresAt: number, revokedAt: number | null = null) => {
    const id = uniqueId('grant-');
    await sql(
      "INSERT INTO grants (id, client_id, user_id, scope, auth_time, amr, wechat_appid, wechat_openid, created_at, expires_at, revoked_at) VALUES (?, ?, ?, 'openid', 0, 'wechat', 'wx', 'openid', 0, ?, ?)",
      id,
      clientId,
      userId,
      expiresAt,
      revokedAt,
    ).run();
    return id;
  },
  refreshToken: async (grantId: string, expiresAt: number) => {
    const hash = uniqueId('refresh-');
    await sql('INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES (?, ?, 0, ?)', hash, grantId, expiresAt).run();
    return hash;
  },
  deviceCode: async (expiresAt: number) => {
    const hash = uniqueId('device-');
    const userCode = uniqueId('USER-');
    await sql("INSERT INTO device_codes (code_hash, user_code, client_id, scope, interval, expires_at) VALUES (?, ?, ?, 'openid', 5, ?)", hash, userCode, clientId, expiresAt).run();
    return { hash, userCode };
  },
  approval: async (authTime: number, loginId = uniqueId('login-')) => {
    await sql('INSERT INTO login_approvals (login_id, approved, auth_time) VALUES (?, 0, ?)', loginId, authTime).run();
    return loginId;
  },
  audit: async (at: number) => {
    const event = uniqueId('test.');
    await sql("INSERT INTO audit_log (at, event, actor) VALUES (?, ?, 'bridge')", at, event).run();
    return event;
  },
  authorizationCode: async (expiresAt: number) => {
    const hash = uniqueId('code-');
    await sql(
      "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, user_id, scope, auth_time, amr, wechat_appid, wechat_openid, expires_at) VALUES (?, 'client', 'https://rp.example/cb', ?, 'openid', 0, 'wechat', 'wx', 'openid', ?)",
      hash,
      userId,
      expiresAt,
    ).run();
    return hash;
  },
  singleUse: async (prefix: string, usedAt: number) => {
    const key = uniqueId(prefix);
    await sql('INSERT INTO single_uses (key, used_at) VALUES (?, ?)', key, usedAt).run();
    return key;
  },
};

describe('retention, row by row (docs/storage.md "Retention")', () => {
  it('deletes each row a second past its retention and keeps the one at it, and any row still live', async () => {
    const at = nowSeconds();
    const far = at + 30 * 24 * 3600;
    // [what, table, key column, key, kept]
    const rows: [string, string, string, string, boolean][] = [];
    const add = async (what: string, table: string, column: string, key: Promise<string>, kept: boolean) => {
      rows.push([what, table, column, await key, kept]);
    };
    const past = at - SLACK;
    for (const [kept, shift] of [
      [true, 0],
      [false, 1],
    ] as const) {
      await add('a session past expires_at', 'sessions', 'id_hash', seed.session(past - shift), kept);
      await add("an authorization code past its marker's lifetime", 'authorization_codes', 'code_hash', seed.authorizationCode(past - ttl.authorizationCode - shift), kept);
      await add('a revoked access token past its exp', 'revoked_access_tokens', 'jti', seed.revokedAccessToken(past - shift), kept);
      const liveGrant = await seed.grant(far);
      await add('a refresh token past expires_at', 'refresh_tokens', 'token_hash', seed.refreshToken(liveGrant, past - shift), kept);
      await add('a device code past its grace', 'device_codes', 'code_hash', seed.deviceCode(past - DEVICE_GRACE - shift).then((device) => device.hash), kept);
      const pendingLifetime = Math.max(ttl.pendingLogin, ttl.deviceCode);
      await add("an answer to a login past that login's lifetime", 'login_approvals', 'login_id', seed.approval(past - pendingLifetime - shift), kept);
      await add("a used code's marker past the code's lifetime", 'single_uses', 'key', seed.singleUse('code:', past - ttl.authorizationCode - shift), kept);
      await add("a used device code's marker past its lifetime", 'single_uses', 'key', seed.singleUse('device:', past - ttl.deviceCode - shift), kept);
      await add("a completed login's marker past the login's lifetime", 'single_uses', 'key', seed.singleUse('login:', past - ttl.pendingLogin - shift), kept);
      await add('a grant revoked an access token lifetime ago', 'grants', 'id', seed.grant(far, past - ttl.accessToken - shift), kept);
      await add('a grant expired an access token lifetime ago', 'grants', 'id', seed.grant(past - ttl.accessToken - shift), kept);
      await add('an audit entry past AUDIT_RETENTION_DAYS', 'audit_log', 'event', seed.audit(at - ttl.audit - shift), kept);
    }
    await add('a live session', 'sessions', 'id_hash', seed.session(far), true);
    await add('a live authorization code', 'authorization_codes', 'code_hash', seed.authorizationCode(far), true);
    await add('a live revoked access token', 'revoked_access_tokens', 'jti', seed.revokedAccessToken(far), true);
    await add('a live device code', 'device_codes', 'code_hash', seed.deviceCode(far).then((device) => device.hash), true);
    await add('a fresh answer', 'login_approvals', 'login_id', seed.approval(at), true);
    await add('a live grant', 'grants', 'id', seed.grant(far), true);
    await add('a marker of a kind no rule knows, however old', 'single_uses', 'key', seed.singleUse('other:', 0), true);

    await runScheduled(at);

    for (const [what, table, column, key, kept] of rows) expect(await present(table, column, key), `${what}: ${kept ? 'kept' : 'deleted'}`).toBe(kept);
  });

  it("deletes a revoked grant's live refresh tokens with it, in one run, and leaves every foreign key whole", async () => {
    const at = nowSeconds();
    const far = at + 30 * 24 * 3600;
    const spent = await seed.grant(far, at - SLACK - ttl.accessToken - 1);
    const spentTokens = [await seed.refreshToken(spent, far), await seed.refreshToken(spent, far)];
    const recent = await seed.grant(far, at - SLACK - ttl.accessToken);
    const recentToken = await seed.refreshToken(recent, far);

    await runScheduled(at);

    expect(await present('grants', 'id', spent)).toBe(false);
    for (const token of spentTokens) expect(await present('refresh_tokens', 'token_hash', token)).toBe(false);
    expect(await present('grants', 'id', recent)).toBe(true);
    expect(await present('refresh_tokens', 'token_hash', recentToken)).toBe(true);
    expect((await env.DB.prepare('PRAGMA foreign_key_check').all()).results).toEqual([]);
  });

  it('keeps a device code while an answer names its user code, so a user code drawn again never meets an old answer', async () => {
    const at = nowSeconds();
    const device = await seed.deviceCode(at - SLACK - DEVICE_GRACE - 1);
    // An answer the purge would keep (as when a backlog left it for a later round): the device code waits for it.
    await seed.approval(at, device.userCode);
    await runScheduled(at);
    expect(await present('device_codes', 'code_hash', device.hash)).toBe(true);

    await sql('UPDATE login_approvals SET auth_time = 0 WHERE login_id = ?', device.userCode).run();
    await runScheduled(at);
    expect(await present('login_approvals', 'login_id', device.userCode)).toBe(false);
    expect(await present('device_codes', 'code_hash', device.hash)).toBe(false);
  });
});

describe('bounded batches', () => {
  const tables = ['sessions', 'authorization_codes', 'revoked_access_tokens', 'device_codes', 'login_approvals', 'single_uses', 'grants', 'refresh_tokens', 'audit_log'] as const;

  /** Seven rows past retention in every table (the refresh tokens under one live grant), and their count. */
  async function seedBacklog(at: number, liveGrant: string) {
    const old = at - 10 * 24 * 3600;
    for (let i = 0; i < 7; i++) {
      await seed.session(old);
      await seed.authorizationCode(old);
      await seed.revokedAccessToken(old);
      await seed.deviceCode(old);
      await seed.approval(old);
      await seed.singleUse('code:', old);
      await seed.grant(old);
      await seed.refreshToken(liveGrant, old);
      await seed.audit(at - ttl.audit - 1);
    }
  }

  const count = async (table: string) => (await sql(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
  const countAll = async () => Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await count(table)] as const)));

  it('deletes at most the batch per table in a round and at most the rounds in a run; the next run goes on', async () => {
    const at = nowSeconds();
    // What earlier tests left past retention goes first, so that what follows counts only this backlog.
    await purge(db, ttl, at);
    const liveGrant = await seed.grant(at + 3600);
    const before = await countAll();
    await seedBacklog(at, liveGrant);

    const first = await purge(db, ttl, at, { batch: 3, rounds: 1 });
    expect(first).toEqual({ rounds: 1, complete: false, deleted: Object.fromEntries(tables.map((table) => [table, 3])) });
    for (const table of tables) expect(await count(table), table).toBe(before[table]! + 4);

    const second = await purge(db, ttl, at, { batch: 3, rounds: 5 });
    // 3 then 1 left in each table: the round that was not full is the last.
    expect(second).toEqual({ rounds: 2, complete: true, deleted: Object.fromEntries(tables.map((table) => [table, 4])) });
    expect(await countAll()).toEqual(before);
  });

  it('never deletes a grant before its refresh tokens, however small the batch', async () => {
    const at = nowSeconds();
    await purge(db, ttl, at);
    const grant = await seed.grant(at + 3600, at - 10 * 24 * 3600);
    for (let i = 0; i < 5; i++) await seed.refreshToken(grant, at + 3600);

    const first = await purge(db, ttl, at, { batch: 2, rounds: 1 });
    expect(first.deleted).toMatchObject({ refresh_tokens: 2, grants: 0 });
    expect(await present('grants', 'id', grant)).toBe(true);

    const rest = await purge(db, ttl, at, { batch: 2, rounds: 5 });
    expect(rest).toMatchObject({ complete: true, deleted: { refresh_tokens: 3, grants: 1 } });
    expect((await env.DB.prepare('PRAGMA foreign_key_check').all()).results).toEqual([]);
  });

  it('lets a device code go only after the answer its user code names, however small the batch', async () => {
    const at = nowSeconds();
    await purge(db, ttl, at);
    const old = at - 10 * 24 * 3600;
    const devices = await Promise.all([1, 2, 3].map(async () => {
      const device = await seed.deviceCode(old);
      await seed.approval(old, device.userCode);
      return device;
    }));
    for (let run = 0; run < 3; run++) {
      await purge(db, ttl, at, { batch: 1, rounds: 1 });
      for (const device of devices) {
        if (!(await present('device_codes', 'code_hash', device.hash))) expect(await present('login_approvals', 'login_id', device.userCode)).toBe(false);
      }
    }
    for (const device of devices) expect(await present('device_codes', 'code_hash', device.hash)).toBe(false);
  });

  it('finds its rows through indexes: no statement scans a whole table', async () => {
    for (const [table, statement] of purgeStatements(db, purgeCutoffs(ttl, nowSeconds()), 1000)) {
      const query = statement.toSQL();
      const plan = await sql(`EXPLAIN QUERY PLAN ${query.sql}`, ...query.params).all<{ detail: string }>();
      const details = plan.results.map((row) => row.detail);
      expect(details.filter((detail) => /^SCAN /.test(detail)), `${table}: ${details.join(' | ')}`).toEqual([]);
    }
  });
});

describe('the single-use guards outlive what they guard', () => {
  const codeExpiry = async (code: string) =>
    (await sql('SELECT expires_at FROM authorization_codes WHERE code_hash = ?', await sha256(code)).first<{ expires_at: number }>())!.expires_at;

  it('a replayed authorization code is refused, and revokes, after a purge at the last second the code could be redeemed', async () => {
    const client = await register({ ...webClientMetadata, token_endpoint_auth_method: 'none' });
    const { verifier, challenge } = await pkce();
    const result = await browserLogin(new Browser(), client, { code_challenge: challenge, code_challenge_method: 'S256' });
    const code = result.get('code')!;
    const first = await redeem(client, code, verifier);
    expect(first.status).toBe(200);
    const { access_token: accessToken } = await first.json<{ access_token: string }>();
    const expiresAt = await codeExpiry(code);

    await runScheduled(expiresAt - 1);

    const replay = await redeem(client, code, verifier);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    // The replay found the first redemption's grant through the marker: its tokens are revoked.
    expect((await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } })).status).toBe(401);
  });

  it('a code redeemed at its last second and replayed after its expiry and a purge revokes: the code is kept as long as its marker', async () => {
    const client = await register({ ...webClientMetadata, token_endpoint_auth_method: 'none' });
    const { verifier, challenge } = await pkce();
    const code = (await browserLogin(new Browser(), client, { code_challenge: challenge, code_challenge_method: 'S256' })).get('code')!;
    const first = await redeem(client, code, verifier);
    expect(first.status).toBe(200);
    const { access_token: accessToken } = await first.json<{ access_token: string }>();
    const hash = await sha256(code);
    const key = `code:${hash}`;

    // The code expired longer ago than a minute's slack; it was used in its last second, so its marker lasts.
    const at = nowSeconds();
    const expiredAt = at - SLACK - ttl.authorizationCode + 2;
    await sql('UPDATE authorization_codes SET expires_at = ? WHERE code_hash = ?', expiredAt, hash).run();
    await sql('UPDATE single_uses SET used_at = ? WHERE key = ?', expiredAt - 1, key).run();
    await runScheduled(at);

    expect(await present('single_uses', 'key', key)).toBe(true);
    expect(await present('authorization_codes', 'code_hash', hash)).toBe(true);
    const replay = await redeem(client, code, verifier);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/already used/) });
    expect((await call('/userinfo', { headers: { Authorization: `Bearer ${accessToken}` } })).status).toBe(401);
  });

  it('a code whose marker is purged has expired by then: refused all the same', async () => {
    const client = await register({ ...webClientMetadata, token_endpoint_auth_method: 'none' });
    const { verifier, challenge } = await pkce();
    const code = (await browserLogin(new Browser(), client, { code_challenge: challenge, code_challenge_method: 'S256' })).get('code')!;
    expect((await redeem(client, code, verifier)).status).toBe(200);
    const key = `code:${await sha256(code)}`;

    // Everything of this code moves back in time by the marker's retention and a second.
    const shift = ttl.authorizationCode + SLACK + 1;
    await sql('UPDATE authorization_codes SET expires_at = expires_at - ? WHERE code_hash = ?', shift, await sha256(code)).run();
    await sql('UPDATE single_uses SET used_at = used_at - ? WHERE key = ?', shift, key).run();
    await runScheduled(nowSeconds());

    expect(await present('single_uses', 'key', key)).toBe(false);
    const replay = await redeem(client, code, verifier);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
  });

  describe('device codes', () => {
    const deviceClient = () =>
      register({ token_endpoint_auth_method: 'none', application_type: 'native', grant_types: [DEVICE_CODE, 'refresh_token'], client_name: 'TV' });
    const poll = async (client: RegisteredClient, deviceCode: string) => {
      // As if the device waited its interval.
      await sql('UPDATE device_codes SET last_polled_at = last_polled_at - interval WHERE code_hash = ?', await sha256(deviceCode)).run();
      return postForm('/token', client, { grant_type: DEVICE_CODE, device_code: deviceCode });
    };

    async function approvedDevice() {
      const client = await deviceClient();
      const device = await (await postForm('/device_authorization', client, { scope: 'openid offline_access' })).json<{ device_code: string; user_code: string }>();
      expect((await approve(device.user_code)).status).toBe(200);
      const tokens = await poll(client, device.device_code);
      expect(tokens.status).toBe(200);
      return { client, device, hash: await sha256(device.device_code), tokens: await tokens.json<{ access_token: string }>() };
    }

    it('a replayed device code is refused, and revokes, after a purge at the last second the code lives', async () => {
      const { client, device, hash, tokens } = await approvedDevice();
      const row = await sql('SELECT expires_at FROM device_codes WHERE code_hash = ?', hash).first<{ expires_at: number }>();

      await runScheduled(row!.expires_at - 1);

      const replay = await poll(client, device.device_code);
      expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
      expect((await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).status).toBe(401);
    });

    it('a poll after the code expired and its answer was purged still revokes, while its marker lasts', async () => {
      const { client, device, hash, tokens } = await approvedDevice();
      const at = nowSeconds();
      // Approved, then polled for the tokens late in the code's life: the answer goes before the marker.
      const usedAt = at - SLACK - ttl.deviceCode;
      await env.DB.batch([
        sql('UPDATE device_codes SET expires_at = ? WHERE code_hash = ?', usedAt + 1, hash),
        sql('UPDATE login_approvals SET auth_time = ? WHERE login_id = ?', usedAt - Math.max(ttl.pendingLogin, ttl.deviceCode) + ttl.deviceCode - 1, device.user_code),
        sql('UPDATE single_uses SET used_at = ? WHERE key = ?', usedAt, `device:${hash}`),
      ]);
      await runScheduled(at);
      expect(await present('login_approvals', 'login_id', device.user_code)).toBe(false);
      expect(await present('single_uses', 'key', `device:${hash}`)).toBe(true);

      const replay = await poll(client, device.device_code);
      expect(await replay.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/already used/) });
      expect((await call('/userinfo', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).status).toBe(401);
    });

    it('once its marker and answer are purged the code has expired: expired_token for the grace, then invalid_grant', async () => {
      const { client, device, hash } = await approvedDevice();
      const age = async (seconds: number) => {
        await env.DB.batch([
          sql('UPDATE device_codes SET expires_at = expires_at - ? WHERE code_hash = ?', seconds, hash),
          sql('UPDATE login_approvals SET auth_time = auth_time - ? WHERE login_id = ?', seconds, device.user_code),
          sql('UPDATE single_uses SET used_at = used_at - ? WHERE key = ?', seconds, `device:${hash}`),
        ]);
        await runScheduled(nowSeconds());
      };

      await age(ttl.deviceCode + SLACK + 1);
      expect(await present('single_uses', 'key', `device:${hash}`)).toBe(false);
      expect(await present('login_approvals', 'login_id', device.user_code)).toBe(false);
      expect(await present('device_codes', 'code_hash', hash)).toBe(true);
      expect(await (await poll(client, device.device_code)).json()).toMatchObject({ error: 'expired_token' });

      await age(DEVICE_GRACE);
      expect(await present('device_codes', 'code_hash', hash)).toBe(false);
      expect(await (await poll(client, device.device_code)).json()).toMatchObject({ error: 'invalid_grant' });
    });
  });

  it("a login's answer and completion outlive the pending login: answering again is refused after a purge at its last second", async () => {
    const client = await register(webClientMetadata);
    const browser = new Browser();
    const loginId = await startLogin(browser, authorizeUrl(client));
    expect((await approve(loginId)).status).toBe(200);
    expect((await browser.get(`/login/${loginId}/continue`)).status).toBe(302);
    const pending = await env.KV.get<{ expiresAt: number }>(`login:${loginId}`, 'json');

    await runScheduled(pending!.expiresAt - 1);

    expect(await present('login_approvals', 'login_id', loginId)).toBe(true);
    expect(await present('single_uses', 'key', `login:${loginId}`)).toBe(true);
    expect((await approve(loginId)).status).toBe(409);
  });
});

describe('the entries', () => {
  it('production (src/index.ts) purges on its schedule too', async () => {
    const at = nowSeconds();
    const session = await seed.session(at - SLACK - 1);
    await runScheduled(at, production);
    expect(await present('sessions', 'id_hash', session)).toBe(false);
  });

  it('development (src/dev.ts) refuses to purge for a public issuer, and touches nothing', async () => {
    const at = nowSeconds();
    const session = await seed.session(at - SLACK - 1);
    await expect(runScheduled(at, dev, { ...env, ISSUER: 'https://id.example.com' })).rejects.toThrow(/loopback/);
    expect(await present('sessions', 'id_hash', session)).toBe(true);
  });

  it('logs one line per run, with counts and nothing else', async () => {
    const at = nowSeconds();
    const jti = await seed.revokedAccessToken(at - SLACK - 1);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await runScheduled(at);
    expect(log).toHaveBeenCalledTimes(1);
    const line = String(log.mock.calls[0]![0]);
    expect(line).toMatch(/^purge \{/);
    const report = JSON.parse(line.slice('purge '.length));
    expect(report).toMatchObject({ rounds: 1, complete: true, deleted: { revoked_access_tokens: expect.any(Number) } });
    expect(report.deleted.revoked_access_tokens).toBeGreaterThanOrEqual(1);
    expect(line).not.toContain(jti);
    expect(line).not.toMatch(/user-|client-|grant-/);
  });
});
