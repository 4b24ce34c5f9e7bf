/**
 * The example mini program's account page (examples/miniprogram/pages/account,
 * docs/protocol.md "Leaving"): what accountView() makes of the bridge's answer, and the
 * page's own JS driven with a scripted `wx`: nothing is withdrawn or deleted before the
 * person confirms in the dialog, and each call sends a fresh wx.login code.
 */
import { describe, expect, it } from 'vitest';
import { loadModule, loadPage, miniProgramRoot, type Data } from '../e2e/support/screenshots-page.ts';
import { renderPage } from '../e2e/support/screenshots-wxml.ts';

type AccountView = (answer: Data) => Data;
const { accountView } = loadModule(miniProgramRoot, 'utils/account.js') as { accountView: AccountView };
const { BRIDGE_URL } = loadModule(miniProgramRoot, 'config.js') as { BRIDGE_URL: string };

/** An answer of POST /wechat/account shaped as docs/protocol.md shows it. */
const ANSWER = {
  clients: [
    {
      client_id: 'c_shop',
      client_name: 'Example Shop',
      client_uri: 'https://Shop.Example/about',
      logo_uri: 'https://shop.example/logo.png',
      scopes: ['openid', 'phone'],
      last_login_at: 1796072124,
    },
    { client_id: 'c_tv', scopes: ['openid', 'offline_access'], logo_uri: 'http://tv.example/logo.png', last_login_at: 1796000000 },
  ],
};

describe('accountView', () => {
  it('lists each application: name (or client_id), https site and logo only, scopes in words, the last login in China Standard Time', () => {
    expect(accountView(ANSWER)).toEqual({
      clients: [
        { clientId: 'c_shop', name: 'Example Shop', logo: 'https://shop.example/logo.png', site: 'shop.example', scopes: ['你的登录身份', '你的手机号'], lastLogin: '2026-12-01 04:55' },
        { clientId: 'c_tv', name: 'c_tv', logo: '', site: '', scopes: ['你的登录身份', '持续访问（你离开后仍保持登录）'], lastLogin: '2026-11-30 08:53' },
      ],
      empty: false,
    });
  });

  it('says so when nothing is approved', () => {
    expect(accountView({ clients: [] })).toEqual({ clients: [], empty: true });
  });
});

interface Call {
  api: string;
  options: Data;
}

/** A `wx` whose requests get `answers` in order, whose dialogs answer `confirm`, and which records every call. */
function scriptedWx(answers: { statusCode: number; data: unknown }[], confirm: boolean) {
  const calls: Call[] = [];
  let codes = 0;
  const wx = {
    getAccountInfoSync: () => ({ miniProgram: { appId: 'wx_example' } }),
    login: (options: Data & { success: (result: { code: string }) => void }) => {
      calls.push({ api: 'login', options });
      options.success({ code: `code-${++codes}` });
    },
    request: (options: Data & { success: (result: unknown) => void }) => {
      calls.push({ api: 'request', options });
      const answer = answers.shift();
      if (!answer) throw new Error(`unexpected request ${String(options.url)}`);
      options.success(answer);
    },
    showModal: (options: Data & { success: (result: { confirm: boolean }) => void }) => {
      calls.push({ api: 'showModal', options });
      options.success({ confirm });
    },
  };
  return { wx, calls };
}

const PAGE = 'pages/account/account';
const requests = (calls: Call[]) => calls.filter((call) => call.api === 'request').map((call) => [call.options.url, call.options.data]);
const tap = (dataset: Data) => ({ currentTarget: { dataset } });

describe('the account page', () => {
  it('reads the approved applications with a fresh code, and renders each with its revoke button', () => {
    const { wx, calls } = scriptedWx([{ statusCode: 200, data: ANSWER }], true);
    const page = loadPage(miniProgramRoot, PAGE, wx);
    page.call('onShow');
    expect(requests(calls)).toEqual([[`${BRIDGE_URL}/wechat/account`, { code: 'code-1', appid: 'wx_example' }]]);
    expect(page.data).toMatchObject({ state: 'ready', ...accountView(ANSWER) });
    const html = renderPage(miniProgramRoot, PAGE, page.data);
    expect(html).toContain('Example Shop');
    expect(html.split('取消授权').length - 1).toBe(2);
    expect(html).toContain('注销账号');
  });

  it('withdraws an application only once the person confirms, then reads the list again', () => {
    const declined = scriptedWx([{ statusCode: 200, data: ANSWER }], false);
    const page = loadPage(miniProgramRoot, PAGE, declined.wx);
    page.call('onShow');
    page.call('revoke', tap({ clientId: 'c_shop', name: 'Example Shop' }));
    expect(requests(declined.calls)).toHaveLength(1);

    const confirmed = scriptedWx([{ statusCode: 200, data: ANSWER }, { statusCode: 200, data: { client_id: 'c_shop', grants_revoked: 1 } }, { statusCode: 200, data: { clients: [ANSWER.clients[1]] } }], true);
    const again = loadPage(miniProgramRoot, PAGE, confirmed.wx);
    again.call('onShow');
    again.call('revoke', tap({ clientId: 'c_shop', name: 'Example Shop' }));
    expect(requests(confirmed.calls).slice(1)).toEqual([
      [`${BRIDGE_URL}/wechat/account/revoke`, { code: 'code-2', appid: 'wx_example', client_id: 'c_shop' }],
      [`${BRIDGE_URL}/wechat/account`, { code: 'code-3', appid: 'wx_example' }],
    ]);
    expect(again.data.clients).toEqual(accountView({ clients: [ANSWER.clients[1]] }).clients);
  });

  it('deletes the account only once the person confirms the warning', () => {
    const declined = scriptedWx([{ statusCode: 200, data: ANSWER }], false);
    const page = loadPage(miniProgramRoot, PAGE, declined.wx);
    page.call('onShow');
    page.call('deleteAccount');
    expect(requests(declined.calls)).toHaveLength(1);
    expect(declined.calls.find((call) => call.api === 'showModal')!.options.content).toContain('无法恢复');

    const confirmed = scriptedWx([{ statusCode: 200, data: ANSWER }, { statusCode: 200, data: { status: 'deleted' } }], true);
    const again = loadPage(miniProgramRoot, PAGE, confirmed.wx);
    again.call('onShow');
    again.call('deleteAccount');
    expect(requests(confirmed.calls)[1]).toEqual([`${BRIDGE_URL}/wechat/account/delete`, { code: 'code-2', appid: 'wx_example' }]);
    expect(again.data).toMatchObject({ state: 'deleted', clients: [] });
  });

  it('says when the person has no account here, and shows an error otherwise', () => {
    const none = scriptedWx([{ statusCode: 404, data: { error: 'user_not_found' } }], true);
    const page = loadPage(miniProgramRoot, PAGE, none.wx);
    page.call('onShow');
    expect(page.data.state).toBe('none');
    const limited = scriptedWx([{ statusCode: 429, data: { error: 'rate_limited' } }], true);
    const other = loadPage(miniProgramRoot, PAGE, limited.wx);
    other.call('onShow');
    expect(other.data).toMatchObject({ state: 'error', error: '操作太频繁，请稍后再试。' });
  });
});
