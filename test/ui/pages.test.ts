import { describe, expect, it } from 'vitest';
import { SandboxLoginForm } from '../../src/sandbox';
import { DeviceCodePage } from '../../src/ui/device-page';
import { FormPostPage } from '../../src/ui/form-post-page';
import { t } from '../../src/ui/i18n';
import { LoginPage, type LoginPageProps } from '../../src/ui/login-page';
import { LogoutConfirmPage, MessagePage } from '../../src/ui/message-page';

/** hono/jsx elements stringify to HTML, possibly asynchronously. */
const render = async (element: ReturnType<typeof LoginPage>): Promise<string> => (await element).toString();

const NONCE = 'n0nce-Abc123';
const props = (overrides: Partial<LoginPageProps> = {}): LoginPageProps => ({
  locale: 'en',
  loginId: 'Lg_0123456789abcdefghij-XYZ',
  clientName: 'Acme Shop',
  mode: 'authorization',
  pageUrl: '/login/Lg_0123456789abcdefghij-XYZ',
  qrUrl: '/login/Lg_0123456789abcdefghij-XYZ/qr',
  openUrl: '/login/Lg_0123456789abcdefghij-XYZ/open',
  statusUrl: '/login/Lg_0123456789abcdefghij-XYZ/status',
  continueUrl: '/login/Lg_0123456789abcdefghij-XYZ/continue',
  nonce: NONCE,
  ...overrides,
});

const attribute = (html: string, name: string) => [...html.matchAll(new RegExp(`\\s${name}="([^"]*)"`, 'g'))].map((m) => m[1]);

describe('LoginPage (docs/protocol.md §5)', () => {
  it('is a complete document in the chosen language, carrying the pending login id', async () => {
    const html = await render(LoginPage(props()));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<html lang="en">');
    expect(attribute(html, 'data-login-session')).toEqual(['Lg_0123456789abcdefghij-XYZ']);
    expect(html).toContain('Sign in to Acme Shop');
    for (const id of ['qr', 'open-wechat', 'status']) expect(attribute(html, 'data-testid')).toContain(id);
    expect(html).toMatch(/<img[^>]+src="\/login\/Lg_0123456789abcdefghij-XYZ\/qr"/);
    expect(html).toMatch(/<a[^>]+href="\/login\/Lg_0123456789abcdefghij-XYZ\/open"/);
    expect(attribute(html, 'data-status-url')).toEqual([props().statusUrl]);
    expect(attribute(html, 'data-continue-url')).toEqual([props().continueUrl]);
    expect(html).toMatch(/<noscript><p><a href="\/login\/Lg_0123456789abcdefghij-XYZ\/continue"/);
  });

  it('renders each language with its own strings', async () => {
    const en = await render(LoginPage(props({ locale: 'en' })));
    const zh = await render(LoginPage(props({ locale: 'zh-CN' })));
    expect(zh).toContain('<html lang="zh-CN">');
    for (const key of ['scanWithWeChat', 'openWeChat', 'waiting'] as const) {
      expect(en).toContain(t('en')[key]);
      expect(zh).toContain(t('zh-CN')[key]);
      expect(zh).not.toContain(t('en')[key]);
    }
    expect(zh).toContain('登录 Acme Shop');
  });

  it('escapes a hostile client name', async () => {
    const html = await render(LoginPage(props({ clientName: '<script>alert("x")</script><img src=x onerror=alert(1)>' })));
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    // The only scripts are the page's own, under the nonce.
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('puts the nonce on its one inline script and its one inline style, and has no inline style attributes', async () => {
    const html = await render(LoginPage(props()));
    expect(html.match(/<script[^>]*>/g)).toEqual([`<script nonce="${NONCE}">`]);
    expect(html.match(/<style[^>]*>/g)).toEqual([`<style nonce="${NONCE}">`]);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
  });

  it('loads nothing from elsewhere: no URL but the ones it was given', async () => {
    const absolute = props({
      qrUrl: 'http://localhost:8787/login/x/qr',
      openUrl: 'http://localhost:8787/login/x/open',
      statusUrl: 'http://localhost:8787/login/x/status',
      continueUrl: 'http://localhost:8787/login/x/continue',
      websiteUrl: 'http://localhost:8787/login/x/wechat/website',
    });
    let html = await render(LoginPage(absolute));
    for (const url of [absolute.qrUrl!, absolute.openUrl!, absolute.statusUrl, absolute.continueUrl, absolute.websiteUrl!]) {
      html = html.replaceAll(url, '');
    }
    expect(html).not.toMatch(/https?:|\/\/[a-z]|url\(|@import|<link|<iframe/i);
    expect(html.match(/<img/g)).toHaveLength(1);
  });

  it('marks each way in with data-login-method, and shows only the ways it was given', async () => {
    const all = await render(LoginPage(props({ websiteUrl: '/login/x/wechat/website' })));
    expect(attribute(all, 'data-login-method')).toEqual(['miniprogram-code', 'website-qr', 'open-wechat']);
    const websiteOnly = await render(LoginPage(props({ qrUrl: undefined, openUrl: undefined, websiteUrl: '/login/x/wechat/website' })));
    expect(attribute(websiteOnly, 'data-login-method')).toEqual(['website-qr']);
    expect(websiteOnly).not.toContain('<img');
    expect(attribute(await render(LoginPage(props())), 'data-login-method')).toEqual(['miniprogram-code', 'open-wechat']);
  });

  it("shows the sandbox's stand-in for the mini program only when the entry point adds it, under the page's nonce", async () => {
    expect(await render(LoginPage(props()))).not.toContain('data-testid="sandbox');
    const addOn = SandboxLoginForm({ locale: 'en', loginId: 'login-1', miniprogramAppid: 'wx0000000000mini01', nonce: NONCE });
    const html = await render(LoginPage(props({ addOn })));
    expect(html.match(/<script[^>]*>/g)).toEqual([`<script nonce="${NONCE}">`, `<script nonce="${NONCE}">`]);
    expect(attribute(html, 'data-login')).toEqual(['login-1']);
    for (const id of ['sandbox', 'sandbox-openid', 'sandbox-unionid', 'sandbox-phone', 'sandbox-approve', 'sandbox-deny']) {
      expect(attribute(html, 'data-testid')).toContain(id);
    }
    expect(attribute(html, 'data-mint-url')).toEqual(['/sandbox/wechat/codes']);
    expect(attribute(html, 'data-handoff-url')).toEqual(['/wechat/handoff']);
    expect(attribute(html, 'data-appid')).toEqual(['wx0000000000mini01']);
    // Every field has a label.
    for (const id of ['sandbox-openid', 'sandbox-unionid', 'sandbox-phone']) expect(html).toContain(`<label for="${id}">`);
  });

  it('shows the user code in device mode only', async () => {
    const device = await render(LoginPage(props({ mode: 'device', loginId: 'BCDF-GHJK', userCode: 'BCDF-GHJK' })));
    expect(device).toMatch(/data-testid="user-code">BCDF-GHJK</);
    expect(attribute(device, 'data-mode')).toEqual(['device']);
    const browser = await render(LoginPage(props({ userCode: 'BCDF-GHJK' })));
    expect(browser).not.toContain('data-testid="user-code"');
    expect(attribute(browser, 'data-mode')).toEqual(['authorization']);
  });
});

describe('MessagePage, LogoutConfirmPage, DeviceCodePage', () => {
  it('renders an escaped message page in the chosen language', async () => {
    const html = await render(MessagePage({ locale: 'zh-CN', title: '出错了', message: 'bad <redirect_uri>', status: 'error', nonce: NONCE }));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('<h1 class="error">出错了</h1>');
    expect(html).toContain('bad &lt;redirect_uri&gt;');
    expect(html).toContain(`<style nonce="${NONCE}">`);
    expect(html).not.toContain('<script');
  });

  it('asks before signing out, carrying the request through hidden fields', async () => {
    const html = await render(LogoutConfirmPage({
      locale: 'en',
      action: '/logout',
      hiddenFields: { post_logout_redirect_uri: 'https://rp.example/bye?a=1&b="2"', state: 'xyz', confirm: 'yes' },
      nonce: NONCE,
    }));
    expect(html).toMatch(/<form method="post" action="\/logout">/);
    expect(html).toContain('<input type="hidden" name="post_logout_redirect_uri" value="https://rp.example/bye?a=1&amp;b=&quot;2&quot;"/>');
    expect(html).toContain('<input type="hidden" name="state" value="xyz"/>');
    expect(html).toMatch(/data-testid="logout-confirm"[^>]*>Sign out</);
  });

  it('asks a device user for the code, and says when it was wrong', async () => {
    const html = await render(DeviceCodePage({ locale: 'en', nonce: NONCE }));
    expect(html).toMatch(/<form method="get">/);
    expect(html).toContain('name="user_code"');
    expect(html).not.toContain('data-testid="device-error"');
    const invalid = await render(DeviceCodePage({ locale: 'zh-CN', nonce: NONCE, invalid: true }));
    expect(invalid).toContain(t('zh-CN').deviceInvalid);
  });
});

describe('FormPostPage (OAuth 2.0 Form Post Response Mode §2)', () => {
  const page = (locale: 'en' | 'zh-CN') =>
    render(FormPostPage({ locale, action: 'https://rp.example/cb?x=1&y=2', fields: { code: 'c0de', state: '"a&b<', iss: 'http://localhost:8787' }, nonce: NONCE }));

  it('one form, posting to the redirect_uri, each field a hidden input with its value escaped', async () => {
    const html = await page('en');
    expect(html.match(/<form /g)).toHaveLength(1);
    expect(html).toContain('<form method="post" action="https://rp.example/cb?x=1&amp;y=2">');
    expect(html).toContain('<input type="hidden" name="code" value="c0de"/>');
    expect(html).toContain('<input type="hidden" name="state" value="&quot;a&amp;b&lt;"/>');
    expect(html).toContain('<input type="hidden" name="iss" value="http://localhost:8787"/>');
  });

  it('submits itself by a script under the nonce, offers a button without scripts, in the chosen language', async () => {
    for (const locale of ['en', 'zh-CN'] as const) {
      const html = await page(locale);
      const s = t(locale);
      expect(html).toContain(`<html lang="${locale}">`);
      expect(html).toContain(`<script nonce="${NONCE}">document.forms[0].submit()</script>`);
      expect(html.match(/<script/g)).toHaveLength(1);
      expect(html).toContain(`<noscript><div class="actions"><button type="submit" class="button primary" data-testid="form-post-continue">${s.formPostButton}</button></div></noscript>`);
      expect(html).toContain(`<h1>${s.formPostTitle}</h1>`);
    }
  });
});

describe('LoginPage door order', () => {
  it("puts the Website App's door before the mini program code when asked, after it otherwise", async () => {
    const order = async (first?: 'website') =>
      attribute(await render(LoginPage(props({ websiteUrl: '/login/x/wechat/website', first }))), 'data-login-method');
    expect(await order()).toEqual(['miniprogram-code', 'website-qr', 'open-wechat']);
    expect(await order('website')).toEqual(['website-qr', 'miniprogram-code', 'open-wechat']);
  });

  it('leads with the Official Account, a same-origin link in the chosen language, after the other ways when another door leads', async () => {
    for (const locale of ['en', 'zh-CN'] as const) {
      const html = await render(LoginPage(props({ locale, qrUrl: undefined, officialAccountUrl: '/login/x/wechat/officialaccount', first: 'officialaccount' })));
      expect(attribute(html, 'data-login-method')).toEqual(['officialaccount', 'open-wechat']);
      expect(html).toContain('<div class="lead" data-login-method="officialaccount">');
      expect(html).toMatch(/<a[^>]+id="officialaccount" data-testid="officialaccount" href="\/login\/x\/wechat\/officialaccount">/);
      expect(html).toContain(`>${t(locale).officialAccountLogin}</a><p class="muted">${t(locale).officialAccountHint}</p>`);
    }
    expect(t('en').officialAccountLogin).not.toBe(t('zh-CN').officialAccountLogin);
    const after = await render(LoginPage(props({ qrUrl: undefined, officialAccountUrl: '/login/x/wechat/officialaccount' })));
    expect(attribute(after, 'data-login-method')).toEqual(['open-wechat', 'officialaccount']);
    expect(after).toContain('<div class="official" data-login-method="officialaccount">');
  });
});
