/**
 * OpenID Connect Back-Channel Logout 1.0 (docs/protocol.md §10): the logout
 * token's claims and signature (§2.4), its POST (§2.5), retries and the
 * dead-letter queue's audit rows; RP-initiated logout telling every client
 * of the session; the session's `sid` in grants and ID tokens (§2.1).
 */
import { env } from 'cloudflare:workers';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { subjectFor } from '../../src/identity/pairwise';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/notify/logout-token';
import type { ClientMetadata } from '../../src/types';
import { Browser, browserLogin, redeem, webClientMetadata } from '../support/browser';
import { call, claimsOf, ISSUER, postForm, register, uniqueId, type RegisteredClient } from '../support/oidc';
import { DEAD_LETTERS_QUEUE, DELIVERIES_QUEUE, receiver, runQueue, type Posted } from './support';

/**
 * Registration validating these is not part of this test: the metadata is
 * written as a registration that accepted it would have stored it.
 */
async function withMetadata(client: RegisteredClient, metadata: Partial<ClientMetadata>) {
  const row = await env.DB.prepare('SELECT metadata FROM clients WHERE client_id = ?').bind(client.client_id).first<{ metadata: string }>();
  const merged = { ...JSON.parse(row!.metadata), ...metadata };
  await env.DB.prepare('UPDATE clients SET metadata = ? WHERE client_id = ?').bind(JSON.stringify(merged), client.client_id).run();
  return client;
}

const backchannelClient = async (uri: string, metadata: Partial<ClientMetadata> = {}) =>
  withMetadata(await register(webClientMetadata), { backchannel_logout_uri: uri, backchannel_logout_session_required: true, ...metadata });

async function verifyLogoutToken(posted: Posted, audience: string) {
  expect(posted.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
  const token = new URLSearchParams(posted.body).get('logout_token')!;
  const jwks = createLocalJWKSet(await (await call('/jwks')).json<JSONWebKeySet>());
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: ISSUER, audience, typ: 'logout+jwt' });
  expect(protectedHeader.kid).toBeDefined();
  return payload;
}

let restore: (() => void) | undefined;
afterEach(() => restore?.());

describe('a back-channel logout', () => {
  it('POSTs a logout token signed with the current key: iss, aud, iat, short exp, jti, events, sub, sid, no nonce', async () => {
    const client = await backchannelClient('https://rp-token.example/backchannel');
    const rp = receiver('https://rp-token.example');
    restore = rp.restore;
    const logout = { clientId: client.client_id, userId: 'user-1', sid: 'sid-1' };
    const { acked, retried } = await runQueue(DELIVERIES_QUEUE, [{ id: 'l1', body: { kind: 'logout', logout } }]);
    expect(acked).toEqual(['l1']);
    expect(retried).toEqual([]);
    expect(rp.posted).toHaveLength(1);
    expect(rp.posted[0]!.url).toBe('https://rp-token.example/backchannel');
    const claims = await verifyLogoutToken(rp.posted[0]!, client.client_id);
    expect(claims).toMatchObject({ iss: ISSUER, aud: client.client_id, sub: 'user-1', sid: 'sid-1', events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } });
    expect(typeof claims.jti).toBe('string');
    expect(claims.exp! - claims.iat!).toBeGreaterThan(0);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(60);
    expect(claims).not.toHaveProperty('nonce');
  });

  it('names the user by the pairwise sub the client sees, and every session when none is named', async () => {
    const client = await backchannelClient('https://rp-pairwise.example/backchannel', { subject_type: 'pairwise' });
    const rp = receiver('https://rp-pairwise.example');
    restore = rp.restore;
    await runQueue(DELIVERIES_QUEUE, [{ body: { kind: 'logout', logout: { clientId: client.client_id, userId: 'user-2' } } }]);
    const claims = await verifyLogoutToken(rp.posted[0]!, client.client_id);
    const metadata = { ...(webClientMetadata as unknown as ClientMetadata), subject_type: 'pairwise' as const };
    expect(claims.sub).toBe(await subjectFor(env.PAIRWISE_SECRET, { clientId: client.client_id, metadata }, 'user-2'));
    expect(claims.sub).not.toBe('user-2');
    expect(claims).not.toHaveProperty('sid');
  });

  it('is dropped for a client without a backchannel_logout_uri, and for an unknown client', async () => {
    const client = await register(webClientMetadata);
    const spy = vi.spyOn(globalThis, 'fetch');
    restore = () => spy.mockRestore();
    const { acked } = await runQueue(DELIVERIES_QUEUE, [
      { id: 'plain', body: { kind: 'logout', logout: { clientId: client.client_id, userId: 'user-3' } } },
      { id: 'unknown', body: { kind: 'logout', logout: { clientId: uniqueId('nobody-'), userId: 'user-3' } } },
    ]);
    expect(acked.sort()).toEqual(['plain', 'unknown']);
    expect(spy).not.toHaveBeenCalled();
  });

  it('is retried with a growing delay while the client fails, and acked on 204', async () => {
    const client = await backchannelClient('https://rp-flaky.example/backchannel');
    const answers = [500, 400, 204];
    let call = 0;
    const rp = receiver('https://rp-flaky.example', () => new Response(null, { status: answers[call++]! }));
    restore = rp.restore;
    const body = { kind: 'logout', logout: { clientId: client.client_id, userId: 'user-4', sid: 'sid-4' } };
    const first = await runQueue(DELIVERIES_QUEUE, [{ id: 'f', body, attempts: 1 }]);
    const second = await runQueue(DELIVERIES_QUEUE, [{ id: 'f', body, attempts: 2 }]);
    const third = await runQueue(DELIVERIES_QUEUE, [{ id: 'f', body, attempts: 3 }]);
    expect([first.retried, second.retried]).toEqual([[{ msgId: 'f', delaySeconds: 30 }], [{ msgId: 'f', delaySeconds: 60 }]]);
    expect(third).toEqual({ acked: ['f'], retried: [] });
    expect(rp.posted).toHaveLength(3);
  });
});

describe('the dead-letter queue', () => {
  it('records each final failure in the audit log with its kind and the receiver origin, never a secret nor a body', async () => {
    const client = await backchannelClient('https://rp-dead.example/backchannel');
    const webhook = { kind: 'webhook', id: 'msg_dead', url: 'https://hooks-dead.example/in?key=query-secret', type: 'user.created', body: '{"secret-body":1}' };
    const logout = { kind: 'logout', logout: { clientId: client.client_id, userId: 'user-5', sid: 'sid-5' } };
    const { acked } = await runQueue(DEAD_LETTERS_QUEUE, [
      { id: 'd1', body: webhook },
      { id: 'd2', body: logout },
    ]);
    expect(acked.sort()).toEqual(['d1', 'd2']);
    const rows = await env.DB.prepare("SELECT * FROM audit_log WHERE event = 'delivery.failed' AND (detail LIKE '%hooks-dead%' OR client_id = ?) ORDER BY id")
      .bind(client.client_id)
      .all<Record<string, string | number | null>>();
    expect(rows.results.map(({ actor, user_id, client_id, detail }) => ({ actor, user_id, client_id, detail: JSON.parse(String(detail)) }))).toEqual([
      { actor: 'bridge', user_id: null, client_id: null, detail: { kind: 'webhook', origin: 'https://hooks-dead.example', type: 'user.created' } },
      { actor: 'bridge', user_id: 'user-5', client_id: client.client_id, detail: { kind: 'logout', origin: 'https://rp-dead.example' } },
    ]);
    expect(JSON.stringify(rows.results)).not.toMatch(/query-secret|secret-body|sid-5/);
  });
});

/** Logs `browser` in to `client` as the sandbox user with `openid`, and redeems the code. */
async function logIn(browser: Browser, client: RegisteredClient, openid: string) {
  const result = await browserLogin(browser, client, {}, { openid });
  return (await redeem(client, result.get('code')!)).json<Record<string, string>>();
}

describe('a browser session and its sid', () => {
  it('is in the ID tokens (first and refreshed) of a client that requires it, and on the grant, the same for every client of the session', async () => {
    const [first, second] = [await backchannelClient('https://rp-sid1.example/bc'), await backchannelClient('https://rp-sid2.example/bc')];
    const plain = await register(webClientMetadata);
    const browser = new Browser();
    const openid = uniqueId('o');
    const tokens = [await logIn(browser, first, openid), await logIn(browser, second, openid), await logIn(browser, plain, openid)];
    const [sid1, sid2, sid3] = tokens.map((set) => claimsOf(set.id_token!).sid);
    expect(typeof sid1).toBe('string');
    // The same person's second approval in this browser goes on in the same session.
    expect(sid2).toBe(sid1);
    expect(sid3).toBeUndefined();
    // Neither the cookie nor its hash (the row key).
    const cookie = browser.cookie('bridge_session')!;
    const row = await env.DB.prepare('SELECT id_hash FROM sessions WHERE user_id = (SELECT user_id FROM wechat_identities WHERE openid = ?)').bind(openid).first<{ id_hash: string }>();
    expect([cookie, row!.id_hash]).not.toContain(sid1);
    const grants = await env.DB.prepare('SELECT client_id, sid FROM grants WHERE client_id IN (?, ?, ?)').bind(first.client_id, second.client_id, plain.client_id).all<{ sid: string }>();
    expect(grants.results.map((grant) => grant.sid)).toEqual([sid1, sid1, sid1]);

    const refreshed = await (await postForm('/token', first, { grant_type: 'refresh_token', refresh_token: tokens[0]!.refresh_token! })).json<Record<string, string>>();
    expect(claimsOf(refreshed.id_token!).sid).toBe(sid1);
  });

  it('is announced in discovery, as is back-channel logout', async () => {
    const discovery = await (await call('/.well-known/openid-configuration')).json<Record<string, unknown>>();
    expect(discovery).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
  });
});

describe('RP-initiated logout (RP-Initiated Logout 1.0 §2, Back-Channel Logout 1.0 §2.5)', () => {
  it('tells every client of the ended session, with its sid, through the queue', async () => {
    const [first, second] = [await backchannelClient('https://rp-end1.example/bc'), await backchannelClient('https://rp-end2.example/bc')];
    const plain = await register(webClientMetadata);
    const browser = new Browser();
    const openid = uniqueId('o');
    const [one] = [await logIn(browser, first, openid), await logIn(browser, second, openid), await logIn(browser, plain, openid)];
    const { sid, sub } = claimsOf(one!.id_token!);
    const rp = receiver(['https://rp-end1.example', 'https://rp-end2.example']);
    restore = rp.restore;

    const response = await browser.get(`/logout?${new URLSearchParams({ id_token_hint: one!.id_token! })}`);
    expect(response.status).toBe(200);
    // The worker's own queue consumer delivers them, in this isolate.
    await vi.waitFor(() => expect(rp.posted).toHaveLength(2), { timeout: 15_000, interval: 100 });
    expect(rp.posted.map((p) => p.url).sort()).toEqual(['https://rp-end1.example/bc', 'https://rp-end2.example/bc']);
    for (const [index, client] of [first, second].entries()) {
      const claims = await verifyLogoutToken(rp.posted.find((p) => p.url.includes(`rp-end${index + 1}`))!, client.client_id);
      expect(claims).toMatchObject({ sub, sid });
    }
  });
});
