/**
 * The mini program's side of a browser login, from Node: the WeChat sandbox
 * (docs/protocol.md §6) mints what `wx.login` would return, and `POST /wechat/handoff`
 * (docs/protocol.md §5) approves the pending login with it.
 */
import { expect } from 'vitest';

export interface MintedCode {
  code: string;
  appid: string;
}

/** `POST /sandbox/wechat/codes`. */
export async function mintCode(issuer: string, body: Record<string, unknown>): Promise<MintedCode> {
  const response = await fetch(`${issuer}/sandbox/wechat/codes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, `POST /sandbox/wechat/codes: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as MintedCode;
}

/** `POST /wechat/handoff` as the mini program sends it; returns the status and the JSON answer. */
export async function handoff(issuer: string, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${issuer}/wechat/handoff`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** What the mini program does when it opens with `scene` = the login id: wx.login, then the handoff. */
export async function approveLogin(issuer: string, login: string, identity: { openid?: string; unionid?: string } = {}) {
  const minted = await mintCode(issuer, { kind: 'miniprogram', ...identity });
  const answer = await handoff(issuer, { login, code: minted.code });
  expect(answer, 'POST /wechat/handoff').toMatchObject({ status: 200, body: { status: 'approved' } });
  return minted;
}
