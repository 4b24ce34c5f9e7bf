/**
 * docs/protocol.md §7, binding rule 3, for users who existed before the bridge:
 * imported through the admin API with a phone number, linked by their first
 * WeChat login that verifies that number, through the real public flows (the
 * RFC 8693 token exchange, the mini program's handoff). Numbers are recycled:
 * once a WeChat account holds the user, another account with the number is
 * somebody new.
 */
import { describe, expect, it } from 'vitest';
import { importUser, uniquePhone } from '../support/admin';
import { Browser, browserLogin, redeem, webClientMetadata } from '../support/browser';
import { claimsOf, counts, exchange, login, MINIPROGRAM_CODE, mint, register, uniqueId, type RegisteredClient, type SandboxCode } from '../support/oidc';

const MINI_1 = 'wx0000000000mini01';
const MINI_2 = 'wx0000000000mini02';

/** A token exchange of a mini program code, with a getPhoneNumber code for `phone`: the ID token's claims. */
async function exchangeLogin(client: RegisteredClient, identity: Omit<SandboxCode, 'kind'> & { kind?: 'app' | 'miniprogram' }, phone?: string) {
  const code: SandboxCode = { kind: 'miniprogram', appid: identity.kind === 'app' ? undefined : MINI_1, ...identity };
  const phoneCode = phone === undefined ? undefined : (await mint({ kind: 'phone', phone, appid: code.appid })).code;
  const tokens = await login(client, code, phoneCode === undefined ? {} : { wechat_phone_code: phoneCode });
  return claimsOf(tokens.id_token!);
}

/** A browser login approved in the mini program (POST /wechat/handoff), redeemed: the ID token's claims. */
async function handoffLogin(client: RegisteredClient, identity: { openid?: string; unionid?: string; phone?: string }) {
  const result = await browserLogin(new Browser(), client, {}, identity);
  const response = await redeem(client, result.get('code')!);
  expect(response.status).toBe(200);
  return claimsOf((await response.json<{ id_token: string }>()).id_token);
}

describe('an imported user is linked on their first WeChat login with the verified number', () => {
  it('through the token exchange: the imported sub, the imported name under profile, and the same sub on later logins', async () => {
    const client = await register();
    const phone = uniquePhone();
    const sub = await importUser(phone, '王建国');
    const before = await counts();
    const openid = uniqueId('o');

    const first = await exchangeLogin(client, { openid }, phone);
    expect(first).toMatchObject({ sub, name: '王建国', nickname: '王建国', phone_number: phone, phone_number_verified: true });
    // Linked, not created: the login added an identity to the imported user.
    expect(await counts()).toMatchObject({ users: before.users, identities: before.identities! + 1 });

    expect(await exchangeLogin(client, { openid })).toMatchObject({ sub, name: '王建国', phone_number: phone });
    expect(await exchangeLogin(client, { openid }, phone)).toMatchObject({ sub });
  });

  it('through the handoff: a browser login approved in the mini program with a phone code', async () => {
    const client = await register(webClientMetadata);
    const phone = uniquePhone();
    const sub = await importUser(phone, 'Old Customer');
    const openid = uniqueId('o');

    expect(await handoffLogin(client, { openid, phone })).toMatchObject({ sub, name: 'Old Customer', phone_number: phone });
    expect(await handoffLogin(client, { openid })).toMatchObject({ sub, name: 'Old Customer' });
  });

  it('without a name: the linked user has no name until WeChat gives one', async () => {
    const client = await register();
    const phone = uniquePhone();
    const sub = await importUser(phone);
    const claims = await exchangeLogin(client, { openid: uniqueId('o') }, phone);
    expect(claims.sub).toBe(sub);
    expect(claims).not.toHaveProperty('name');
  });

  it('not by a login without the number: that is somebody new, and the imported user waits', async () => {
    const client = await register();
    const phone = uniquePhone();
    const sub = await importUser(phone, 'Waiting');
    const stranger = await exchangeLogin(client, { openid: uniqueId('o') });
    expect(stranger.sub).not.toBe(sub);
    expect(stranger).not.toHaveProperty('name');
    expect((await exchangeLogin(client, { openid: uniqueId('o') }, phone)).sub).toBe(sub);
  });

  it('not to a WeChat account the bridge already knows: two existing users are never merged', async () => {
    const client = await register();
    const phone = uniquePhone();
    const openid = uniqueId('o');
    const known = (await exchangeLogin(client, { openid })).sub;
    const sub = await importUser(phone, 'Imported');

    const again = await exchangeLogin(client, { openid }, phone);
    expect(again.sub).toBe(known);
    // The number stays the imported user's; the known account does not take it.
    expect(again).not.toHaveProperty('phone_number');
    // The imported user is still there for the next account with the number.
    expect((await exchangeLogin(client, { openid: uniqueId('o'), appid: MINI_2 }, phone)).sub).toBe(sub);
  });
});

describe('once linked, the number proves nothing about another WeChat account (numbers are recycled)', () => {
  it.each<[string, Omit<SandboxCode, 'kind'>, Omit<SandboxCode, 'kind'>]>([
    ['another openid in the same mini program, without a unionid', {}, {}],
    ['another openid in the same mini program, with a unionid', {}, { unionid: uniqueId('u') }],
    ['another unionid, in another mini program', { unionid: uniqueId('u') }, { unionid: uniqueId('u'), appid: MINI_2 }],
  ])('%s becomes a new user', async (_, owner, newcomer) => {
    const client = await register();
    const phone = uniquePhone();
    const sub = await importUser(phone, 'First Holder');
    expect((await exchangeLogin(client, { openid: uniqueId('o'), ...owner }, phone)).sub).toBe(sub);

    const before = await counts();
    const claims = await exchangeLogin(client, { openid: uniqueId('o'), ...newcomer }, phone);
    expect(claims.sub).not.toBe(sub);
    expect(claims).not.toHaveProperty('name');
    expect(claims).not.toHaveProperty('phone_number');
    expect((await counts()).users).toBe(before.users! + 1);
  });

  it('the handoff too: a second account in the mini program with the number is a new user', async () => {
    const client = await register(webClientMetadata);
    const phone = uniquePhone();
    const sub = await importUser(phone, 'First Holder');
    expect((await handoffLogin(client, { openid: uniqueId('o'), phone })).sub).toBe(sub);
    const newcomer = await handoffLogin(client, { openid: uniqueId('o'), phone });
    expect(newcomer.sub).not.toBe(sub);
    expect(newcomer).not.toHaveProperty('phone_number');
  });
});

describe('concurrent first logins with the imported number', () => {
  /** Token exchanges of mini program codes with phone codes for `phone`, all sent at once: the subs they get. */
  async function atOnce(client: RegisteredClient, phone: string, identities: Omit<SandboxCode, 'kind'>[]) {
    const codes = await Promise.all(
      identities.map(async (identity) => {
        const code = await mint({ kind: 'miniprogram', appid: MINI_1, ...identity });
        return { code, phoneCode: await mint({ kind: 'phone', phone, appid: code.appid }) };
      }),
    );
    const responses = await Promise.all(
      codes.map(({ code, phoneCode }) => exchange(client, code.code, MINIPROGRAM_CODE, { wechat_appid: code.appid, wechat_phone_code: phoneCode.code })),
    );
    return Promise.all(responses.map(async (response) => claimsOf((await response.json<{ id_token: string }>()).id_token).sub));
  }

  it('of two WeChat accounts in one mini program: exactly one is linked, the other is somebody new', async () => {
    const client = await register();
    // Each round is a fresh race; an unguarded write lets both accounts take the user now and then.
    for (let round = 0; round < 8; round++) {
      const phone = uniquePhone();
      const sub = await importUser(phone, 'Contested');
      const subs = await atOnce(client, phone, [{ openid: uniqueId('o') }, { openid: uniqueId('o') }]);
      expect(subs.filter((candidate) => candidate === sub), `round ${round}`).toHaveLength(1);
      expect(new Set(subs).size, `round ${round}`).toBe(2);
    }
  });

  it('of one WeChat account twice: both are the imported user', async () => {
    const client = await register();
    const phone = uniquePhone();
    const sub = await importUser(phone);
    const openid = uniqueId('o');
    expect(await atOnce(client, phone, [{ openid }, { openid }, { openid }])).toEqual([sub, sub, sub]);
  });
});

describe('the same person in other WeChat apps (one unionid) joins the imported user', () => {
  it('a mobile app login, and another mini program with the number, after the link', async () => {
    const client = await register();
    const phone = uniquePhone();
    const unionid = uniqueId('u');
    const sub = await importUser(phone, 'Same Person');
    expect((await exchangeLogin(client, { openid: uniqueId('o'), unionid }, phone)).sub).toBe(sub);

    expect((await exchangeLogin(client, { kind: 'app', unionid })).sub).toBe(sub);
    expect((await exchangeLogin(client, { openid: uniqueId('o'), unionid, appid: MINI_2 }, phone)).sub).toBe(sub);
  });
});
