/**
 * `npm run screenshots`: the login page as a user sees it, for the README.
 * Starts the provider as `npm start` does, registers a client, opens a pending
 * login in headless Chromium at a desktop and a phone size, and writes
 * docs/login-desktop.png (1280×800, zh-CN: the mini program code and the
 * Website App's QR login), docs/login-phone.png (390×844 at 2×, en) and
 * docs/login-wechat.png (390×844 at 2×, zh-CN, WeChat's User-Agent: no login
 * page, straight to the Official Account's authorization, here the sandbox's
 * stand-in for WeChat's page). The sandbox simulator form (local development
 * only) is taken out, so the pictures show the page as a deployed bridge serves it.
 * Chinese text needs a CJK font on the machine (Debian: `apt-get install
 * fonts-noto-cjk`).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, it } from 'vitest';
import { launchBrowser, type Browser } from './browser.ts';
import { startProvider, type Provider } from './provider.ts';

const docs = (name: string) => fileURLToPath(new URL(`../../../docs/${name}`, import.meta.url));

let provider: Provider;
let clientId: string;

beforeAll(async () => {
  provider = await startProvider();
  const response = await fetch(`${provider.issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${provider.registrationToken}` },
    body: JSON.stringify({
      client_name: 'Example Shop',
      redirect_uris: ['https://shop.example/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }),
  });
  if (response.status !== 201) throw new Error(`registration: ${response.status} ${await response.text()}`);
  clientId = ((await response.json()) as { client_id: string }).client_id;
});

afterAll(async () => {
  await provider?.stop();
});

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const PHONE_CHROME = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36';
const PHONE_WECHAT =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN';

async function shoot(browser: Browser, file: string, page: 'login' | 'wechat' = 'login'): Promise<void> {
  const url = new URL('/authorize', provider.issuer);
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: 'https://shop.example/callback',
    response_type: 'code',
    scope: 'openid profile',
    state: 'screenshot',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString();
  try {
    const tab = browser.page;
    await tab.goto(url.href);
    if (page === 'wechat') {
      await tab.getByTestId('sandbox-wechat-page').waitFor();
    } else {
      await tab.locator('[data-login-session]').waitFor();
      await tab.waitForFunction("(() => { const img = document.getElementById('qr'); return img.complete && img.naturalWidth > 0; })()");
      // Production has no sandbox: without its form the page is exactly what a deployed bridge serves.
      await tab.evaluate("document.getElementById('sandbox')?.remove()");
    }
    await tab.evaluate('document.fonts.ready');
    await tab.screenshot({ path: docs(file) });
    console.log(`wrote docs/${file}`);
  } finally {
    await browser.close();
  }
}

it('docs/login-desktop.png: 1280×800, zh-CN', async () => {
  await shoot(await launchBrowser({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' }), 'login-desktop.png');
});

it('docs/login-phone.png: 390×844 at 2×, en', async () => {
  await shoot(await launchBrowser({ ...PHONE, userAgent: PHONE_CHROME, locale: 'en-US' }), 'login-phone.png');
});

it("docs/login-wechat.png: 390×844 at 2×, zh-CN, in WeChat's browser", async () => {
  await shoot(await launchBrowser({ ...PHONE, userAgent: PHONE_WECHAT, locale: 'zh-CN' }), 'login-wechat.png', 'wechat');
});
