/**
 * The sandbox's stand-in for the mini program on the login page: mints
 * sandbox codes and posts them to /wechat/handoff, as the mini program would
 * (docs/protocol.md §6). Only the development entry adds it to the page.
 */
import { PATHS } from '../paths';
import type { Locale } from '../ui/i18n';
import type { LoginPageAddOn } from '../ui/login-page';
import { SANDBOX_PATH } from './routes';

const STRINGS = {
  en: {
    legend: 'Sandbox: simulate the mini program',
    hint: 'Development only: approves with a made-up WeChat user instead of the real mini program.',
    openid: 'openid (optional)',
    unionid: 'unionid (optional)',
    phone: 'Phone number (optional)',
    approve: 'Approve',
    deny: 'Deny',
    sent: 'Sent. Waiting for this page to continue…',
    failed: 'The simulated mini program failed:',
  },
  'zh-CN': {
    legend: '沙盒：模拟小程序',
    hint: '仅供开发使用：以虚构的微信用户确认，不经过真实的小程序。',
    openid: 'openid（可选）',
    unionid: 'unionid（可选）',
    phone: '手机号（可选）',
    approve: '同意',
    deny: '拒绝',
    sent: '已提交，等待本页继续…',
    failed: '模拟小程序失败：',
  },
} satisfies Record<Locale, Record<string, string>>;

export const SandboxLoginForm: LoginPageAddOn = ({ locale, loginId, miniprogramAppid, nonce }) => {
  const s = STRINGS[locale];
  return (
    <>
      <form
        id="sandbox"
        data-testid="sandbox"
        data-hide-when-done
        data-login={loginId}
        data-mint-url={`${SANDBOX_PATH}/codes`}
        data-handoff-url={PATHS.handoff}
        data-appid={miniprogramAppid}
        data-sent={s.sent}
        data-failed={s.failed}
      >
        <fieldset>
          <legend>{s.legend}</legend>
          <p class="muted">{s.hint}</p>
          <label for="sandbox-openid">{s.openid}</label>
          <input id="sandbox-openid" data-testid="sandbox-openid" name="openid" autocomplete="off" spellcheck={false} />
          <label for="sandbox-unionid">{s.unionid}</label>
          <input id="sandbox-unionid" data-testid="sandbox-unionid" name="unionid" autocomplete="off" spellcheck={false} />
          <label for="sandbox-phone">{s.phone}</label>
          <input id="sandbox-phone" data-testid="sandbox-phone" name="phone" type="tel" autocomplete="off" placeholder="+8613800138000" />
          <div class="actions">
            <button type="submit" class="button primary" id="sandbox-approve" data-testid="sandbox-approve" value="approve">
              {s.approve}
            </button>
            <button type="submit" class="button" id="sandbox-deny" data-testid="sandbox-deny" value="deny">
              {s.deny}
            </button>
          </div>
          <pre id="sandbox-result" data-testid="sandbox-result" role="status" aria-live="polite"></pre>
        </fieldset>
      </form>
      <script nonce={nonce} dangerouslySetInnerHTML={{ __html: SANDBOX_SCRIPT }} />
    </>
  );
};

/**
 * Plain browser JavaScript, a constant: everything it needs is in the form's
 * data attributes. Kept as a string: bundlers rewrite function bodies.
 */
const SANDBOX_SCRIPT = `(() => {
  'use strict';
  const form = document.getElementById('sandbox');
  const result = document.getElementById('sandbox-result');
  const buttons = form.querySelectorAll('button');
  const field = (name) => form.elements.namedItem(name).value.trim() || undefined;

  const post = async (url, body) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
    const payload = await response.text();
    if (response.status !== 200) throw new Error(response.status + ' ' + payload);
    return JSON.parse(payload);
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const deny = Boolean(event.submitter && event.submitter.value === 'deny');
    const { mintUrl, handoffUrl, appid, login } = form.dataset;
    buttons.forEach((button) => { button.disabled = true; });
    result.textContent = '';
    result.classList.remove('error');
    try {
      const { code } = await post(mintUrl, { kind: 'miniprogram', openid: field('openid'), unionid: field('unionid'), appid });
      const phone = deny ? undefined : field('phone');
      const phoneCode = phone ? (await post(mintUrl, { kind: 'phone', phone, appid })).code : undefined;
      await post(handoffUrl, { login, code, phone_code: phoneCode, appid, deny: deny || undefined });
      result.textContent = form.dataset.sent;
      document.dispatchEvent(new Event('login:check'));
    } catch (error) {
      result.textContent = form.dataset.failed + '\\n' + error.message;
      result.classList.add('error');
      buttons.forEach((button) => { button.disabled = false; });
    }
  });
})();
`;
