/**
 * The admin API's users (docs/protocol.md "Operating"): finding a user by
 * any of their keys, deleting them as the person's own deletion does, and
 * revoking everything they granted. Without the admin token: 401, nothing
 * read or changed; bad input: 400, nothing changed.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditOf, MINI_APPID, rowsNaming, watchDeliveries } from '../account/support';
import { sendWatched } from '../hostile/support';
import { ADMIN_TOKEN, adminCall, importUser, uniquePhone, withoutEmpty } from '../support/admin';
import { Browser, browserLogin, pkce, redeem, webClientMetadata } from '../support/browser';
import { subjectFor } from '../../src/identity/pairwise';
import { call, claimsOf, login, mint, postForm, register, uniqueId, type TokenSet } from '../support/oidc';

afterEach(() => {
  vi.restoreAllMocks();
});

const userinfo = (token: string) => call('/userinfo', { headers: { Authorization: `Bearer ${token}` } });

/** A person with a phone-verified mini program login to a public client, and a browser login to a pairwise web client. */
async function somebody() {
  const person = { openid: uniqueId('o-'), unionid: uniqueId('u-'), phone: uniquePhone() };
  const native = await register({ client_name: 'Native', scope: 'openid phone offline_access' });
  const phoneCode = (await mint({ kind: 'phone', phone: person.phone, appid: MINI_APPID })).code;
  const identity = { kind: 'miniprogram', appid: MINI_APPID, openid: person.openid, unionid: person.unionid } as const;
  const nativeTokens = await login(native, identity, { wechat_phone_code: phoneCode, scope: 'openid phone offline_access' });
  const sub = claimsOf(nativeTokens.id_token!).sub as string;
  const web = await register({ ...webClientMetadata, client_name: 'Pairwise Web' });
  // A pairwise client, stored as registration stores one: the admin API reads subject_type from the metadata.
  await env.DB.prepare("UPDATE clients SET metadata = json_set(metadata, '$.subject_type', 'pairwise') WHERE client_id = ?").bind(web.client_id).run();
  const browser = new Browser();
  const { verifier, challenge } = await pkce();
  const back = await browserLogin(browser, web, { code_challenge: challenge, code_challenge_method: 'S256' }, { openid: person.openid, unionid: person.unionid });
  const webTokens = await (await redeem(web, back.get('code')!, verifier)).json<TokenSet>();
  // What the pairwise client knows the person as (OpenID Connect Core §8.1).
  const webSub = await subjectFor(env.PAIRWISE_SECRET, { clientId: web.client_id, metadata: { subject_type: 'pairwise', redirect_uris: webClientMetadata.redirect_uris } }, sub);
  return { person, sub, native, nativeTokens, web, webTokens, webSub, browser };
}

const lookup = (query: Record<string, string | undefined>) => adminCall('GET', `/admin/users?${new URLSearchParams(query as Record<string, string>)}`);

describe('GET /admin/users', () => {
  it('finds the user by sub, phone, unionid, openid and openid with appid: identities, and grants with the sub each client sees', async () => {
    const { person, sub, native, web, webSub } = await somebody();
    expect(webSub).not.toBe(sub);
    for (const query of [{ sub }, { phone: person.phone }, { unionid: person.unionid }, { openid: person.openid }, { openid: person.openid, appid: MINI_APPID }]) {
      const response = await lookup(query);
      expect(response.status, JSON.stringify(query)).toBe(200);
      expect(response.headers.get('Cache-Control')).toBe('no-store');
      const found = await response.json<Record<string, unknown> & { grants: Record<string, unknown>[] }>();
      expect(found).toMatchObject({
        sub,
        phone_number: person.phone,
        name: null,
        created_at: expect.any(Number),
        identities: [{ appid: MINI_APPID, openid: person.openid, unionid: person.unionid, created_at: expect.any(Number) }],
      });
      expect(found.grants).toHaveLength(2);
      const byClient = new Map(found.grants.map((grant) => [grant.client_id, grant]));
      expect(byClient.get(native.client_id)).toEqual({
        client_id: native.client_id,
        client_name: 'Native',
        sub,
        scope: 'openid phone offline_access',
        created_at: expect.any(Number),
        expires_at: expect.any(Number),
        revoked_at: null,
      });
      expect(byClient.get(web.client_id)).toMatchObject({ client_name: 'Pairwise Web', sub: webSub, revoked_at: null });
    }
  });

  it('finds an imported user who never logged in, and answers 404 when nobody matches', async () => {
    const phone = uniquePhone();
    const sub = await importUser(phone, 'Imported');
    expect(await (await lookup({ phone })).json()).toEqual({ sub, phone_number: phone, name: 'Imported', created_at: expect.any(Number), identities: [], grants: [] });
    for (const query of [{ sub: uniqueId('nobody-') }, { openid: uniqueId('o-') }, { unionid: uniqueId('u-') }, { phone: uniquePhone() }]) {
      const response = await lookup(query);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'user_not_found' });
    }
  });

  it('answers 404 for an openid of another app than the one given', async () => {
    const { person } = await somebody();
    expect((await lookup({ openid: person.openid, appid: 'wx0000000000mini02' })).status).toBe(404);
  });

  it.each([
    ['nothing', ''],
    ['two keys', 'sub=a&phone=%2B8613800138000'],
    ['appid without openid', 'appid=wx0000000000mini01&unionid=u'],
    ['an unknown parameter', 'sub=a&Sub=b'],
    ['a repeated parameter', 'sub=a&sub=b'],
    ['an empty value', 'openid='],
    ['a phone number that is not E.164', 'phone=13800138000'],
  ])('refuses %s with 400 invalid_request', async (_, query) => {
    const response = await adminCall('GET', `/admin/users?${query}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('DELETE /admin/users/<sub>', () => {
  it('deletes as the person would: no row names them, their tokens stop, relying parties are told; then 404', async () => {
    const { person, sub, nativeTokens, webTokens, native, web } = await somebody();
    const sent = watchDeliveries();
    const response = await adminCall('DELETE', `/admin/users/${sub}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'deleted', sub });
    expect(await rowsNaming([sub, person.openid, person.unionid, person.phone], ['audit_log'])).toEqual([]);
    for (const tokens of [nativeTokens, webTokens]) expect((await userinfo(tokens.access_token)).status).toBe(401);
    const logouts = sent().flatMap((delivery) => (delivery.kind === 'logout' ? [delivery.logout.clientId] : []));
    expect(logouts.sort()).toEqual([native.client_id, web.client_id].sort());
    expect(sent().filter((delivery) => delivery.kind === 'event')).toEqual([{ kind: 'event', event: { type: 'user.deleted', at: expect.any(Number), data: { sub, by: 'admin' } } }]);
    expect((await auditOf(sub))[0]).toMatchObject({ event: 'user.deleted', actor: 'admin' });

    const again = await adminCall('DELETE', `/admin/users/${sub}`);
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: 'user_not_found' });
  });
});

describe('POST /admin/users/<sub>/revoke', () => {
  it('revokes every grant and ends every session, logs each relying party out, and counts them; the user stays', async () => {
    const { sub, nativeTokens, webTokens, native, web, browser } = await somebody();
    const sent = watchDeliveries();
    const response = await adminCall('POST', `/admin/users/${sub}/revoke`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ sub, grants_revoked: 2, sessions_ended: 1 });
    for (const tokens of [nativeTokens, webTokens]) expect((await userinfo(tokens.access_token)).status).toBe(401);
    const refreshed = await postForm('/token', native, { grant_type: 'refresh_token', refresh_token: nativeTokens.refresh_token! });
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
    const silent = await browser.get(`/authorize?${new URLSearchParams({ client_id: web.client_id, redirect_uri: webClientMetadata.redirect_uris[0]!, response_type: 'code', scope: 'openid', prompt: 'none' })}`);
    expect(new URL(silent.headers.get('Location')!).searchParams.get('error')).toBe('login_required');
    expect(sent().map((delivery) => delivery.kind === 'logout' && delivery.logout.clientId).sort()).toEqual([native.client_id, web.client_id].sort());
    expect((await auditOf(sub))[0]).toEqual({ event: 'user.revoked', actor: 'admin', client_id: null, detail: { grants: 2, sessions: 1 } });
    expect((await (await lookup({ sub })).json<{ grants: { revoked_at: number | null }[] }>()).grants.every((grant) => grant.revoked_at !== null)).toBe(true);

    expect(await (await adminCall('POST', `/admin/users/${sub}/revoke`)).json()).toEqual({ sub, grants_revoked: 0, sessions_ended: 0 });
  });

  it('answers 404 for nobody, writing nothing', async () => {
    const { response, unchanged } = await sendWatched(`/admin/users/${uniqueId('nobody-')}/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(404);
    unchanged();
  });
});

describe('without the admin token', () => {
  it('answers 401 with a Bearer challenge on every route, reading and changing nothing', async () => {
    const { sub } = await somebody();
    for (const [method, path] of [
      ['GET', `/admin/users?sub=${sub}`],
      ['DELETE', `/admin/users/${sub}`],
      ['POST', `/admin/users/${sub}/revoke`],
      ['GET', `/admin/audit?sub=${sub}`],
    ]) {
      for (const authorization of ['', 'Bearer wrong-token', `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`]) {
        const { response, unchanged } = await sendWatched(path!, { method, headers: withoutEmpty({ Authorization: authorization }) });
        expect(response.status, `${method} ${path} ${authorization}`).toBe(401);
        expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
        const body = await response.text();
        expect(body).not.toContain(sub);
        unchanged();
      }
    }
  });
});
