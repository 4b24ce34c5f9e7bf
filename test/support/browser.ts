/** A browser as the authorization endpoint sees it: a cookie jar and manual redirects, through SELF. */
import { call, mint, postForm, type RegisteredClient } from './oidc';

export class Browser {
  /** name → value and the Path it was set for (RFC 6265 §5.1.4: sent only below that path). */
  private readonly cookies = new Map<string, { value: string; path: string }>();

  /** `send`: how requests reach the provider (SELF unless a test builds its own app). */
  constructor(private readonly send: (path: string, init: RequestInit) => Promise<Response> = call) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(path, { headers });
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const target = path.replace(/^http:\/\/localhost:8787/, '');
    const pathname = target.split('?')[0]!;
    const cookie = [...this.cookies]
      .filter(([, { path: scope }]) => pathname === scope || pathname.startsWith(scope.endsWith('/') ? scope : `${scope}/`))
      .map(([name, { value }]) => `${name}=${value}`)
      .join('; ');
    const headers = new Headers(init.headers);
    if (cookie) headers.set('Cookie', cookie);
    const response = await this.send(target, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getAll('Set-Cookie')) {
      const [pair, ...attributes] = line.split(';');
      const [name, value] = pair!.split('=') as [string, string];
      const expired = attributes.some((attribute: string) => /max-age=0/i.test(attribute.trim()) || /expires=Thu, 01 Jan 1970/i.test(attribute));
      const scope = attributes.map((attribute) => attribute.trim()).find((attribute) => /^path=/i.test(attribute))?.slice(5) ?? '/';
      if (expired || value === '') this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), { value, path: scope });
    }
    return response;
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export async function pkce(): Promise<Pkce> {
  const verifier = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/[+/=]/g, (c) => ({ '+': '-', '/': '_', '=': '' })[c]!);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const challenge = btoa(String.fromCharCode(...digest)).replace(/[+/=]/g, (c) => ({ '+': '-', '/': '_', '=': '' })[c]!);
  return { verifier, challenge };
}

export const REDIRECT_URI = 'https://rp.example/callback';

export function authorizeUrl(client: RegisteredClient, params: Record<string, string> = {}): string {
  const query = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid profile phone offline_access',
    state: 'state-123',
    nonce: 'nonce-456',
    ...params,
  });
  return `/authorize?${query}`;
}

/**
 * The pending login an authorization request started: a GET is answered with the login page itself
 * (its id in `data-login-session`, its own URL in `data-page-url`), a POST with a 303 to that page.
 */
export async function loginIdOf(response: Response): Promise<string> {
  if (response.status === 303) return response.headers.get('Location')!.replace('/login/', '');
  const page = response.status === 200 ? await response.text() : '';
  const id = /data-login-session="([^"]+)"/.exec(page)?.[1];
  if (!id || !page.includes(`data-page-url="/login/${id}"`)) throw new Error(`expected a login page, got ${response.status} ${response.headers.get('Location') ?? page.slice(0, 200)}`);
  return id;
}

/** Starts a browser login: the pending login's id. */
export async function startLogin(browser: Browser, url: string): Promise<string> {
  return loginIdOf(await browser.get(url));
}

/** The mini program's part: approve the login with a fresh sandbox wx.login code (and a getPhoneNumber code for `phone`). */
export async function approve(loginId: string, { phone, ...identity }: { openid?: string; unionid?: string; phone?: string } = {}, answer: { deny?: true } = {}) {
  const minted = await mint({ kind: 'miniprogram', appid: 'wx0000000000mini01', ...identity });
  const phoneCode = phone === undefined ? undefined : (await mint({ kind: 'phone', phone, appid: minted.appid })).code;
  return call('/wechat/handoff', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: loginId, code: minted.code, appid: minted.appid, phone_code: phoneCode, ...answer }),
  });
}

/** The person says no in the mini program: proven by a wx.login code like an approval. */
export const deny = (loginId: string, identity: { openid?: string; unionid?: string } = {}) => approve(loginId, identity, { deny: true });

/** The whole browser part of the code flow: the parameters the client receives at its redirect_uri. */
export async function browserLogin(browser: Browser, client: RegisteredClient, params: Record<string, string> = {}, identity: Parameters<typeof approve>[1] = {}) {
  const loginId = await startLogin(browser, authorizeUrl(client, params));
  const approved = await approve(loginId, identity);
  if (approved.status !== 200) throw new Error(`handoff failed: ${approved.status} ${await approved.text()}`);
  const back = await browser.get(`/login/${loginId}/continue`);
  if (back.status !== 302) throw new Error(`expected the redirect back, got ${back.status}`);
  return new URL(back.headers.get('Location')!).searchParams;
}

export const redeem = (client: RegisteredClient, code: string, verifier?: string, redirectUri = REDIRECT_URI) =>
  postForm('/token', client, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    ...(verifier && { code_verifier: verifier }),
  });

export const webClientMetadata = {
  redirect_uris: [REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  post_logout_redirect_uris: ['https://rp.example/signed-out'],
  client_name: 'Relying Party',
};
