/**
 * The example mini program's approval screen (examples/miniprogram, docs/protocol.md §5.3):
 * what approvalView() makes of the bridge's answer, the page's own JS driven with a
 * scripted `wx` (nothing is sent before the person confirms), and its WXML rendered with
 * that data, as `npm run screenshots` renders docs/miniprogram-approve-*.png.
 */
import { describe, expect, it } from 'vitest';
import { loadModule, loadPage, miniProgramRoot, type Data } from '../e2e/support/screenshots-page.ts';
import { renderPage, renderWxml, wxssToCss } from '../e2e/support/screenshots-wxml.ts';

type ApprovalView = (handoff: Data, login: string) => Data;
const { approvalView } = loadModule(miniProgramRoot, 'utils/approval.js') as { approvalView: ApprovalView };
const { BRIDGE_URL } = loadModule(miniProgramRoot, 'config.js') as { BRIDGE_URL: string };

/** Answers of GET /wechat/handoff/<login> shaped as docs/protocol.md §5.3 shows them. */
const BROWSER = {
  kind: 'browser',
  client_id: 'c_shop',
  client_name: 'Example Shop',
  scopes: ['openid', 'profile', 'phone'],
  expires_at: 1796072124,
  device: { browser: 'Chrome', os: 'macOS', region: 'Shenzhen, Guangdong, CN' },
  logo_uri: 'https://shop.example/logo.png',
  client_uri: 'https://Shop.Example/about?x=1',
};
const DEVICE = { kind: 'device', client_id: 'c_tv', client_name: 'Example TV', scopes: ['openid', 'offline_access'], expires_at: 1796072124, device: { os: 'Android' } };

describe('approvalView', () => {
  it('describes a browser login: the application, its site, the scopes in words, the waiting browser, no code', () => {
    expect(approvalView(BROWSER, 'k3J9xQ')).toEqual({
      appName: 'Example Shop',
      logo: 'https://shop.example/logo.png',
      site: 'shop.example',
      scopes: ['你的登录身份', '你的微信昵称和头像', '你的手机号'],
      askPhone: true,
      waiting: '浏览器',
      device: 'Chrome · macOS',
      region: 'Shenzhen, Guangdong, CN',
      userCode: '',
      confirmText: '这是我本人刚刚在上面的浏览器中发起的登录',
    });
  });

  it('describes a device login with the user code it was opened with, and offers no phone number unasked', () => {
    expect(approvalView(DEVICE, 'BCDF-GHJK')).toMatchObject({
      appName: 'Example TV',
      logo: '',
      site: '',
      scopes: ['你的登录身份', '持续访问（你离开后仍保持登录）'],
      askPhone: false,
      waiting: '设备',
      device: 'Android',
      region: '',
      userCode: 'BCDF-GHJK',
      confirmText: '设备上显示的代码与上面的一致，是我本人刚刚发起的登录',
    });
    expect(approvalView({ ...DEVICE, scopes: ['openid', 'wechat'], device: {} }, 'BCDF-GHJK')).toMatchObject({
      scopes: ['你的登录身份', '你的微信账号标识（openid、unionid）'],
      device: '未知设备',
    });
  });

  it.each([
    ['http', 'http://shop.example/logo.png'],
    ['javascript', 'javascript:alert(1)'],
    ['data', 'data:image/png;base64,AAAA'],
    ['relative', '/logo.png'],
    ['userinfo in the host', 'https://evil.example@shop.example/'],
    ['not a string', 42],
  ])('shows neither logo nor site for a %s address', (_, uri) => {
    expect(approvalView({ ...BROWSER, logo_uri: uri, client_uri: uri }, 'k3J9xQ')).toMatchObject({ logo: '', site: '' });
  });

  it('names the application by its client_id when it registered no name', () => {
    expect(approvalView({ ...BROWSER, client_name: undefined }, 'k3J9xQ')).toMatchObject({ appName: 'c_shop' });
  });
});

interface Call {
  api: string;
  options: Data;
}

/** A `wx` whose requests get the given answers in order, and which records every call. */
function scriptedWx(answers: { statusCode: number; data: unknown }[], scene = 1047) {
  const calls: Call[] = [];
  const wx = {
    getEnterOptionsSync: () => ({ scene }),
    getAccountInfoSync: () => ({ miniProgram: { appId: 'wx_example' } }),
    login: (options: Data & { success: (result: { code: string }) => void }) => {
      calls.push({ api: 'login', options });
      options.success({ code: 'wx-login-code' });
    },
    request: (options: Data & { success: (result: unknown) => void }) => {
      calls.push({ api: 'request', options });
      const answer = answers.shift();
      if (!answer) throw new Error(`unexpected request ${String(options.url)}`);
      options.success(answer);
    },
  };
  return { wx, calls };
}

const PAGE = 'pages/login/login';
const posts = (calls: Call[]) => calls.filter((call) => call.api === 'request' && call.options.method === 'POST').map((call) => call.options.data);

describe('the login page', () => {
  it('reads what waits, and shows it as approvalView describes it', () => {
    const { wx, calls } = scriptedWx([{ statusCode: 200, data: BROWSER }]);
    const page = loadPage(miniProgramRoot, PAGE, wx);
    page.call('onLoad', { scene: encodeURIComponent('k3J9xQ') });
    expect(calls).toEqual([{ api: 'request', options: expect.objectContaining({ url: `${BRIDGE_URL}/wechat/handoff/k3J9xQ` }) }]);
    expect(page.data).toMatchObject({ state: 'ready', login: 'k3J9xQ', confirmed: false, ...approvalView(BROWSER, 'k3J9xQ') });
  });

  it('sends nothing to approve until the person confirms what is shown', () => {
    const { wx, calls } = scriptedWx([{ statusCode: 200, data: DEVICE }, { statusCode: 200, data: { status: 'approved', client_name: 'Example TV' } }], 1069);
    const page = loadPage(miniProgramRoot, PAGE, wx);
    page.call('onLoad', { login: 'BCDF-GHJK' });
    page.call('approve');
    page.call('approveWithPhone', { detail: { code: 'phone-code' } });
    expect(calls.map((call) => call.api)).toEqual(['request']);
    expect(page.data.state).toBe('ready');

    page.call('onConfirm', { detail: { value: ['confirmed'] } });
    page.call('approve');
    expect(calls.map((call) => call.api)).toEqual(['request', 'login', 'request']);
    expect(posts(calls)).toEqual([{ login: 'BCDF-GHJK', code: 'wx-login-code', appid: 'wx_example' }]);
    expect(page.data).toMatchObject({ state: 'approved', fromApp: true });
  });

  it('denies without a confirmation, proven by a WeChat code like an approval', () => {
    const { wx, calls } = scriptedWx([{ statusCode: 200, data: BROWSER }, { statusCode: 200, data: { status: 'denied', client_name: 'Example Shop' } }]);
    const page = loadPage(miniProgramRoot, PAGE, wx);
    page.call('onLoad', { scene: 'k3J9xQ' });
    page.call('deny');
    expect(calls.map((call) => call.api)).toEqual(['request', 'login', 'request']);
    expect(posts(calls)).toEqual([{ login: 'k3J9xQ', code: 'wx-login-code', appid: 'wx_example', deny: true }]);
    expect(page.data.state).toBe('denied');
  });

  it('stops at a login that is gone, and at one answered meanwhile', () => {
    const gone = scriptedWx([{ statusCode: 404, data: { error: 'login_not_found' } }]);
    const page = loadPage(miniProgramRoot, PAGE, gone.wx);
    page.call('onLoad', { scene: 'k3J9xQ' });
    expect(page.data).toMatchObject({ state: 'invalid', error: '登录请求不存在或已过期，请回到原来的页面重新开始。' });
    const html = renderPage(miniProgramRoot, PAGE, page.data);
    expect(html.split('登录请求不存在或已过期').length - 1).toBe(1);
    expect(html).not.toContain('<wx-button');

    const answered = scriptedWx([{ statusCode: 200, data: BROWSER }, { statusCode: 409, data: { error: 'login_already_used' } }]);
    const again = loadPage(miniProgramRoot, PAGE, answered.wx);
    again.call('onLoad', { scene: 'k3J9xQ' });
    again.call('onConfirm', { detail: { value: ['confirmed'] } });
    again.call('approve');
    expect(again.data).toMatchObject({ state: 'invalid', error: '这个登录请求已经处理过了。' });
  });

  it('asks nothing for a malformed login id', () => {
    const { wx, calls } = scriptedWx([]);
    const page = loadPage(miniProgramRoot, PAGE, wx);
    page.call('onLoad', { login: 'not a login' });
    expect(calls).toEqual([]);
    expect(page.data.state).toBe('invalid');
  });
});

describe('the page rendered from its WXML and WXSS', () => {
  const ready = (answer: Data, options: Data) => {
    const page = loadPage(miniProgramRoot, PAGE, scriptedWx([{ statusCode: 200, data: answer }]).wx);
    page.call('onLoad', options);
    return page;
  };

  it('shows a browser login: logo, site, scopes, the browser, the confirmation, and the approve buttons off until confirmed', () => {
    const html = renderPage(miniProgramRoot, PAGE, ready(BROWSER, { scene: 'k3J9xQ' }).data);
    expect(html).toContain('>确认登录<span class="wx-capsule">');
    for (const text of ['Example Shop', 'shop.example', '你的微信昵称和头像', '等待登录的浏览器', 'Chrome · macOS', '大致位置', 'Shenzhen, Guangdong, CN', '这是我本人刚刚在上面的浏览器中发起的登录']) {
      expect(html).toContain(text);
    }
    expect(html).toContain('<wx-image class="logo"><img src="https://shop.example/logo.png"');
    expect(html).toMatch(/<wx-button type="primary" disabled>同意登录<\/wx-button>/);
    expect(html).toMatch(/<wx-button disabled>同意并提供手机号<\/wx-button>/);
    expect(html).toMatch(/<wx-button class="deny">拒绝<\/wx-button>/);
    expect(html).not.toContain('设备上显示的代码');
    expect(html).not.toContain('{{');
  });

  it('shows a device login with its user code, and enables approval once confirmed', () => {
    const page = ready(DEVICE, { login: 'BCDF-GHJK' });
    page.call('onConfirm', { detail: { value: ['confirmed'] } });
    const html = renderPage(miniProgramRoot, PAGE, page.data);
    expect(html).toContain('等待登录的设备');
    expect(html).toContain('<wx-view class="code">BCDF-GHJK</wx-view>');
    expect(html).toContain('<wx-checkbox checked>');
    expect(html).toMatch(/<wx-button type="primary">同意登录<\/wx-button>/);
    expect(html).not.toContain('同意并提供手机号');
    expect(html).not.toContain('<wx-image');
    expect(html).not.toContain('大致位置');
  });

  it('follows wx:if chains and wx:for, and refuses what it does not know', () => {
    const chain = '<view wx:if="{{n === 1}}">one</view>\n<view wx:elif="{{n === 2}}">two</view>\n<view wx:else>many</view>';
    expect([1, 2, 3].map((n) => renderWxml(chain, { n }).trim())).toEqual(['<wx-view>one</wx-view>', '<wx-view>two</wx-view>', '<wx-view>many</wx-view>']);
    expect(renderWxml('<view wx:for="{{xs}}" wx:if="{{item !== \'b\'}}">{{index}}:{{item}}</view>', { xs: ['a', 'b', 'c'] })).toBe('<wx-view>0:a</wx-view><wx-view>2:c</wx-view>');
    expect(renderWxml('<text>{{a}} & {{b}}</text>', { a: '<b>', b: 1 })).toBe('<wx-text>&#60;b&#62; &#38; 1</wx-text>');
    expect(() => renderWxml('<scroll-view></scroll-view>', {})).toThrow(/not a component/);
    expect(() => renderWxml('<view size="mini"></view>', {})).toThrow(/not an attribute/);
    expect(() => renderWxml('<view wx:else></view>', {})).toThrow(/without a wx:if/);
    expect(() => renderWxml('<view>{{missing}}</view>', {})).toThrow(/missing is not defined/);
    expect(wxssToCss('page { padding: 32rpx 8px; }\n.confirm checkbox, button.deny { margin: -12rpx; }')).toBe(
      'wx-page { padding: 16px 8px; }\n.confirm wx-checkbox, wx-button.deny { margin: -6px; }',
    );
  });
});
