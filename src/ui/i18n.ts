/**
 * The pages' strings in Simplified Chinese and English, and the choice between
 * them: `ui_locales` (OIDC Core §3.1.2.1) first, then Accept-Language
 * (RFC 9110 §12.5.4).
 */
export type Locale = 'zh-CN' | 'en';

/**
 * Picks the first supported language the user prefers.
 *
 * - `ui_locales` is a space-separated list of BCP 47 tags in order of
 *   preference; its first supported tag wins over any Accept-Language.
 * - Accept-Language entries are tried by descending q-value (ties keep their
 *   order); `q=0` means "not this one"; `*` accepts the default.
 * - Any Chinese tag (`zh`, `zh-CN`, `zh-Hans`, `zh-TW`, `zh-Hant-HK`…) gets
 *   zh-CN, the only Chinese we have; any `en-*` gets en.
 * - Languages stated but none supported (say `fr`): en, which such a reader
 *   is likelier to read than Chinese. Nothing stated at all: zh-CN, the
 *   language of most WeChat users.
 */
export function pickLocale(uiLocales: string | undefined, acceptLanguage: string | undefined): Locale {
  const preferred = [...splitUiLocales(uiLocales), ...splitAcceptLanguage(acceptLanguage)];
  for (const tag of preferred) {
    const locale = tag === '*' ? DEFAULT_LOCALE : supported(tag);
    if (locale) return locale;
  }
  return preferred.length > 0 ? 'en' : DEFAULT_LOCALE;
}

const DEFAULT_LOCALE: Locale = 'zh-CN';

function supported(tag: string): Locale | undefined {
  const language = tag.toLowerCase().split('-')[0];
  if (language === 'zh') return 'zh-CN';
  if (language === 'en') return 'en';
  return undefined;
}

function splitUiLocales(value: string | undefined): string[] {
  return (value ?? '').split(' ').filter((tag) => tag.length > 0);
}

/** The acceptable tags by preference, without the refused (`q=0`) or malformed ones. */
function splitAcceptLanguage(value: string | undefined): string[] {
  const entries: { tag: string; q: number }[] = [];
  for (const part of (value ?? '').split(',')) {
    const [tag = '', ...params] = part.split(';').map((s) => s.trim());
    if (!/^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$/.test(tag)) continue;
    const qParam = params.find((p) => /^q=/i.test(p));
    const q = qParam === undefined ? 1 : qValue(qParam.slice(2));
    if (q > 0) entries.push({ tag, q });
  }
  // Array.prototype.sort is stable, so equal q-values keep the header's order.
  return entries.sort((a, b) => b.q - a.q).map((entry) => entry.tag);
}

/** RFC 9110 §12.4.2 qvalue; anything else counts as a refusal. */
function qValue(text: string): number {
  return /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(text) ? Number(text) : 0;
}

const en = {
  loginTitle: 'Sign in with WeChat',
  signInTo: (client: string) => `Sign in to ${client}`,
  scanWithWeChat: 'Scan with WeChat',
  scanHint: 'Scan this code with WeChat, then approve the login in the mini program.',
  qrAlt: 'WeChat mini program code for this login',
  openWeChat: 'Open WeChat',
  officialAccountLogin: 'Continue with WeChat',
  officialAccountHint: 'WeChat confirms your account to this application.',
  websiteLogin: 'Sign in with WeChat on this computer',
  websiteHint: "WeChat's own page shows a QR code: scan it with WeChat and confirm.",
  openHint: 'On this phone? Open WeChat and approve the login in the mini program.',
  waiting: 'Waiting for approval in WeChat…',
  redirecting: 'Approved. Continuing…',
  deviceApproved: 'Done. You can return to your device.',
  denied: 'The login was denied.',
  expired: 'This login request has expired. Please start again.',
  retrying: 'Connection problem. Retrying…',
  noscriptContinue: 'After approving in WeChat, continue here',
  userCodeLabel: 'Code',
  userCodeHint: 'Check that this code matches the one shown on your device.',
  errorTitle: 'Something went wrong',
  unknownClient: 'This application is not known to the sign-in service. Please contact its developer.',
  badRedirectUri: 'This application asked to return to an address it has not registered, so you were not sent back to it.',
  tooManyRequests: 'Too many requests from your network. Please wait a minute and try again.',
  signedOutTitle: 'Signed out',
  signedOutMessage: 'You have been signed out. You can close this page.',
  deviceDoneTitle: 'Signed in',
  deviceTitle: 'Connect a device',
  deviceHint: 'Enter the code shown on your device.',
  deviceCodeLabel: 'Code',
  deviceContinue: 'Continue',
  deviceInvalid: 'That code is not valid or has expired. Check it and try again.',
  logoutTitle: 'Sign out?',
  logoutMessage: 'You will be signed out of your WeChat sign-in on this browser.',
  logoutButton: 'Sign out',
  formPostTitle: 'Returning to the application…',
  formPostButton: 'Continue',
};

export type Strings = typeof en;

const zhCN: Strings = {
  loginTitle: '微信登录',
  signInTo: (client) => `登录 ${client}`,
  scanWithWeChat: '使用微信扫一扫',
  scanHint: '用微信扫描此小程序码，然后在小程序中确认登录。',
  qrAlt: '本次登录的微信小程序码',
  openWeChat: '打开微信',
  officialAccountLogin: '使用微信继续',
  officialAccountHint: '微信将向此应用确认你的帐号。',
  websiteLogin: '在此电脑上用微信登录',
  websiteHint: '微信的页面会显示二维码：用微信扫码并确认。',
  openHint: '正在使用手机？打开微信，在小程序中确认登录。',
  waiting: '等待在微信中确认…',
  redirecting: '已确认，正在继续…',
  deviceApproved: '登录成功，请返回你的设备。',
  denied: '登录已被拒绝。',
  expired: '登录请求已过期，请重新开始。',
  retrying: '网络连接有问题，正在重试…',
  noscriptContinue: '在微信中确认后，点此继续',
  userCodeLabel: '确认码',
  userCodeHint: '请核对此代码与设备上显示的是否一致。',
  errorTitle: '出错了',
  unknownClient: '登录服务不认识此应用，请联系该应用的开发者。',
  badRedirectUri: '此应用要求返回到一个未登记的地址，因此没有将你送回该应用。',
  tooManyRequests: '来自你所在网络的请求过多，请稍等一分钟后再试。',
  signedOutTitle: '已退出登录',
  signedOutMessage: '你已退出登录，可以关闭此页面。',
  deviceDoneTitle: '登录成功',
  deviceTitle: '连接设备',
  deviceHint: '请输入设备上显示的代码。',
  deviceCodeLabel: '代码',
  deviceContinue: '继续',
  deviceInvalid: '代码无效或已过期，请核对后重试。',
  logoutTitle: '退出登录？',
  logoutMessage: '你将在此浏览器上退出微信登录。',
  logoutButton: '退出登录',
  formPostTitle: '正在返回应用…',
  formPostButton: '继续',
};

const STRINGS: Record<Locale, Strings> = { 'zh-CN': zhCN, en };

export function t(locale: Locale): Strings {
  return STRINGS[locale];
}
