/** Talking to the provider under test the way a relying party would, through SELF. */
import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { SandboxFault } from '../../src/sandbox';

export const ISSUER = 'http://localhost:8787';
export const REGISTRATION_TOKEN = 'test-registration-token';
export const APP_CODE = 'urn:wechat:token-type:app_code';
export const MINIPROGRAM_CODE = 'urn:wechat:token-type:miniprogram_code';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

export const call = (path: string, init?: RequestInit) => SELF.fetch(`${ISSUER}${path}`, init);

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  [name: string]: unknown;
}

export async function register(metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const response = await call('/register', {
    method: 'POST',
    headers: { Authorization: `Bearer ${REGISTRATION_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      grant_types: [TOKEN_EXCHANGE, 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...metadata,
    }),
  });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  return response.json();
}

export const basic = (client: RegisteredClient) =>
  `Basic ${btoa(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret ?? '')}`)}`;

/** POSTs a form to an endpoint, authenticating as `client` with its registered method. */
export function postForm(path: string, client: RegisteredClient | undefined, params: Record<string, string>) {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(params);
  if (client?.token_endpoint_auth_method === 'client_secret_post') {
    body.set('client_id', client.client_id);
    body.set('client_secret', client.client_secret!);
  } else if (client?.token_endpoint_auth_method === 'none') {
    body.set('client_id', client.client_id);
  } else if (client) {
    headers.Authorization = basic(client);
  }
  return call(path, { method: 'POST', headers, body });
}

export interface SandboxCode {
  kind: 'app' | 'miniprogram' | 'phone' | 'officialaccount' | 'website';
  /** Web authorization codes: the WeChat scope granted. */
  scope?: string;
  openid?: string;
  unionid?: string;
  nickname?: string;
  avatar?: string;
  phone?: string;
  snapshot?: boolean;
  /** What the exchange of this code fails with: a WeChat errcode, or a named fault of the sandbox. */
  error?: SandboxFault;
  appid?: string;
}

export async function mint(code: SandboxCode): Promise<{ code: string; appid: string }> {
  const response = await call('/sandbox/wechat/codes', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(code),
  });
  if (response.status !== 200) throw new Error(`minting failed: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Every row a login may write: a refused login must leave each count as it was. */
export async function counts(): Promise<Record<string, number>> {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM wechat_identities) AS identities,
            (SELECT count(*) FROM wechat_unionids) AS unionids, (SELECT count(*) FROM grants) AS grants,
            (SELECT count(*) FROM refresh_tokens) AS refresh_tokens, (SELECT count(*) FROM login_approvals) AS approvals`,
  ).first<Record<string, number>>();
  return row!;
}

export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  issued_token_type?: string;
  id_token?: string;
  refresh_token?: string;
}

export function exchange(client: RegisteredClient, code: string, type: string, extra: Record<string, string> = {}) {
  return postForm('/token', client, {
    grant_type: TOKEN_EXCHANGE,
    subject_token: code,
    subject_token_type: type,
    scope: 'openid profile phone wechat offline_access',
    ...extra,
  });
}

/** A successful exchange of a freshly minted code; fails the test otherwise. */
export async function login(client: RegisteredClient, code: SandboxCode, extra: Record<string, string> = {}): Promise<TokenSet> {
  const minted = await mint(code);
  const type = code.kind === 'app' ? APP_CODE : MINIPROGRAM_CODE;
  const response = await exchange(client, minted.code, type, { wechat_appid: minted.appid, ...extra });
  if (response.status !== 200) throw new Error(`exchange failed: ${response.status} ${await response.text()}`);
  return response.json();
}

/** The payload of a JWT, unverified (tests verify signatures separately). */
export function claimsOf(jwt: string): Record<string, unknown> {
  const binary = atob(jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0))));
}

export const uniqueId = (prefix: string) => `${prefix}${crypto.randomUUID().replace(/-/g, '')}`;
