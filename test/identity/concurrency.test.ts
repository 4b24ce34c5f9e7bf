import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { claimsOf, exchange, MINIPROGRAM_CODE, APP_CODE, mint, register, uniqueId } from '../support/oidc';

describe('concurrent first logins (docs/protocol.md §7)', () => {
  it('make one user for one unionid, whichever apps the codes come from', async () => {
    const client = await register();
    const unionid = uniqueId('u');
    const codes = await Promise.all([
      mint({ kind: 'app', unionid }),
      mint({ kind: 'miniprogram', unionid, appid: 'wx0000000000mini01' }),
      mint({ kind: 'miniprogram', unionid, appid: 'wx0000000000mini02' }),
      mint({ kind: 'miniprogram', unionid, appid: 'wx0000000000mini01' }),
      mint({ kind: 'app', unionid }),
    ]);
    const responses = await Promise.all(
      codes.map((minted) => exchange(client, minted.code, minted.appid.includes('app') ? APP_CODE : MINIPROGRAM_CODE, { wechat_appid: minted.appid })),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    const subs = new Set(await Promise.all(responses.map(async (response) => claimsOf((await response.json<{ id_token: string }>()).id_token).sub)));
    expect(subs.size).toBe(1);
    const users = await env.DB.prepare(
      'SELECT count(DISTINCT user_id) AS n, count(*) AS identities FROM wechat_identities WHERE unionid = ?',
    ).bind(unionid).first<{ n: number; identities: number }>();
    expect(users).toEqual({ n: 1, identities: 5 });
  });

  it('make one user for one openid logging in twice at once', async () => {
    const client = await register();
    const openid = uniqueId('o');
    const codes = await Promise.all([1, 2, 3].map(() => mint({ kind: 'miniprogram', openid, appid: 'wx0000000000mini01' })));
    const responses = await Promise.all(codes.map((minted) => exchange(client, minted.code, MINIPROGRAM_CODE, { wechat_appid: minted.appid })));
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    const orphans = await env.DB.prepare(
      'SELECT count(*) AS n FROM users WHERE id NOT IN (SELECT user_id FROM wechat_identities)',
    ).first<{ n: number }>();
    expect(orphans!.n).toBe(0);
  });
});
