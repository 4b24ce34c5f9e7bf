/**
 * `npm run screenshots`: the login page as a user sees it, for the README, and the
 * example mini program's approval screen, for docs/guide.md.
 * Starts the provider as `npm start` does, registers a client, opens a pending
 * login in headless Chromium at a desktop and a phone size, and writes
 * docs/login-desktop.png (1280×800, zh-CN: the mini program code and the
 * Website App's QR login), docs/login-phone.png (390×844 at 2×, en) and
 * docs/login-wechat.png (390×844 at 2×, zh-CN, WeChat's User-Agent: the
 * Official Account's way in first, no code to scan). The sandbox simulator form
 * (local development only) is taken out, so the pictures show the page as a
 * deployed bridge serves it.
 * Chinese text needs a CJK font on the machine (Debian: `apt-get install
 * fonts-noto-cjk`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, it } from 'vitest';
import { launchBrowser, type Browser } from './browser.ts';
import { startProvider, type Provider } from './provider.ts';
import { loadPage, miniProgramRoot, type Data, type PageInstance } from './screenshots-page.ts';
import { renderPage } from './screenshots-wxml.ts';

const docs = (name: string) => fileURLToPath(new URL(`../../../docs/${name}`, import.meta.url));

let provider: Provider;
let clientId: string;
let deviceClientId: string;

async function register(metadata: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${provider.issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${provider.registrationToken}` },
    body: JSON.stringify(metadata),
  });
  if (response.status !== 201) throw new Error(`registration: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { client_id: string }).client_id;
}

/**
 * Where Cloudflare would say a request came from (`request.cf`). Locally wrangler's
 * simulator supplies a placeholder in Texas; the screenshots show one in China instead,
 * as a Chinese user's login would be located, through the simulator's own setting.
 */
const cfDir = mkdtempSync(join(tmpdir(), 'wechat-oidc-cf-'));
const cfPath = join(cfDir, 'cf.json');

beforeAll(async () => {
  writeFileSync(cfPath, JSON.stringify({ colo: 'HKG', city: 'Shenzhen', region: 'Guangdong', country: 'CN', continent: 'AS', timezone: 'Asia/Shanghai' }));
  process.env.CLOUDFLARE_CF_FETCH_PATH = cfPath;
  provider = await startProvider();
  clientId = await register({
    client_name: 'Example Shop',
    logo_uri: 'https://shop.example/logo.svg',
    client_uri: 'https://shop.example/',
    redirect_uris: ['https://shop.example/callback'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  });
  deviceClientId = await register({
    client_name: 'Example TV',
    logo_uri: 'https://tv.example/logo.svg',
    client_uri: 'https://tv.example/',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  });
});

afterAll(async () => {
  await provider?.stop();
  rmSync(cfDir, { recursive: true, force: true });
});

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const PHONE_CHROME = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36';
const PHONE_WECHAT =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN';

/** Example Shop's authorization request (with PKCE), which starts a browser login. */
function authorizeUrl(scope: string): URL {
  const url = new URL('/authorize', provider.issuer);
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: 'https://shop.example/callback',
    response_type: 'code',
    scope,
    state: 'screenshot',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString();
  return url;
}

async function shoot(browser: Browser, file: string, page: 'login' | 'wechat' = 'login'): Promise<void> {
  try {
    const tab = browser.page;
    await tab.goto(authorizeUrl('openid profile').href);
    await tab.locator('[data-login-session]').waitFor();
    // In WeChat's browser the Official Account replaces the code to scan.
    if (page === 'wechat') await tab.getByTestId('officialaccount').waitFor();
    else await tab.waitForFunction("(() => { const img = document.getElementById('qr'); return img.complete && img.naturalWidth > 0; })()");
    // Production has no sandbox: without its form the page is exactly what a deployed bridge serves.
    await tab.evaluate("document.getElementById('sandbox')?.remove()");
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

const DESKTOP_CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
/** An Android TV box's app: its HTTP client's User-Agent. */
const ANDROID_TV_APP = 'Dalvik/2.1.0 (Linux; U; Android 12; MIBOX4 Build/SKQ1.211006.001)';

/** The clients' logos, served in place of their https sites (the screenshot is taken offline). */
const LOGOS: Record<string, string> = {
  'shop.example':
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#e8590c"/>' +
    '<path d="M18 26h28l-3 22H21z" fill="#fff"/><path d="M25 26a7 7 0 0 1 14 0" stroke="#fff" stroke-width="3" fill="none"/></svg>',
  'tv.example':
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#1c7ed6"/>' +
    '<rect x="14" y="18" width="36" height="24" rx="3" fill="#fff"/><path d="M24 48h16" stroke="#fff" stroke-width="3"/></svg>',
};

/** A browser login started by a desktop Chrome on macOS: `/authorize` answers with the login page of `/login/<id>`. */
async function startBrowserLogin(): Promise<string> {
  const response = await fetch(authorizeUrl('openid profile phone'), { redirect: 'manual', headers: { 'user-agent': DESKTOP_CHROME_MAC } });
  const login = /data-login-session="([A-Za-z0-9_-]+)"/.exec(await response.text())?.[1];
  if (response.status !== 200 || !login) throw new Error(`authorize: ${response.status}`);
  return login;
}

/** A device login (RFC 8628) started by an app on an Android TV box; its user code is the login id. */
async function startDeviceLogin(): Promise<string> {
  const response = await fetch(`${provider.issuer}/device_authorization`, {
    method: 'POST',
    headers: { 'user-agent': ANDROID_TV_APP },
    body: new URLSearchParams({ client_id: deviceClientId, scope: 'openid profile offline_access' }),
  });
  if (response.status !== 200) throw new Error(`device_authorization: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { user_code: string }).user_code;
}

/**
 * The login page opened with `options` in `scene`, once its JS has read what waits: its
 * `wx.request` goes to this provider (GET /wechat/handoff/<login>).
 */
async function openLoginPage(options: Record<string, string>, scene: number): Promise<PageInstance> {
  const requests: Promise<void>[] = [];
  const wx = {
    getEnterOptionsSync: () => ({ scene }),
    request: ({ url, success, fail }: { url: string; success: (result: { statusCode: number; data: unknown }) => void; fail: (error: { errMsg: string }) => void }) => {
      requests.push(fetch(url).then(async (response) => success({ statusCode: response.status, data: await response.json() }), (error: Error) => fail({ errMsg: error.message })));
    },
  };
  const page = loadPage(miniProgramRoot, 'pages/login/login', wx, { 'config.js': { BRIDGE_URL: provider.issuer } });
  page.call('onLoad', options);
  while (requests.length > 0) await requests.shift();
  if (page.data.state !== 'ready') throw new Error(`the page did not get ready: ${JSON.stringify(page.data)}`);
  return page;
}

async function shootMiniProgram(data: Data, file: string): Promise<void> {
  const browser = await launchBrowser({ ...PHONE, viewport: { width: 375, height: 812 }, locale: 'zh-CN' });
  try {
    const tab = browser.page;
    await browser.context.route(/^https:\/\/[a-z.]+\.example\/logo\.svg$/, (route) =>
      route.fulfill({ contentType: 'image/svg+xml', body: LOGOS[new URL(route.request().url()).host] ?? '' }),
    );
    await tab.setContent(renderPage(miniProgramRoot, 'pages/login/login', data));
    await tab.waitForFunction('[...document.images].every((image) => image.complete && image.naturalWidth > 0)');
    await tab.evaluate('document.fonts.ready');
    await tab.screenshot({ path: docs(file), fullPage: true });
    console.log(`wrote docs/${file}`);
  } finally {
    await browser.close();
  }
}

it('docs/miniprogram-approve-browser.png: 375×812 at 2×, a browser login from Chrome on macOS', async () => {
  const login = await startBrowserLogin();
  const page = await openLoginPage({ scene: encodeURIComponent(login) }, 1047);
  await shootMiniProgram(page.data, 'miniprogram-approve-browser.png');
});

it('docs/miniprogram-approve-device.png: 375×812 at 2×, a device login, its code compared and confirmed', async () => {
  const userCode = await startDeviceLogin();
  const page = await openLoginPage({ login: userCode }, 1069);
  // The person has compared the code and ticked the confirmation: approving is now possible.
  page.call('onConfirm', { detail: { value: ['confirmed'] } });
  await shootMiniProgram(page.data, 'miniprogram-approve-device.png');
});
