/**
 * The person's side of a login at the provider, in the test's Chromium: the browser waits on
 * the provider's login page, and the mini program approves it (from Node, through the WeChat
 * sandbox and `POST /wechat/handoff`: test/e2e/support/mini-program.ts).
 */
import type { Page } from 'playwright-core';
import { approveLogin, type MintedCode } from '../../e2e/support/mini-program.ts';
import { issuer } from './example.ts';

/** A WeChat person of the sandbox: fresh ids, so each test file has its own user. */
export function newPerson(label: string): { openid: string; unionid: string } {
  const nonce = crypto.randomUUID();
  return { openid: `o-${label}-${nonce}`, unionid: `u-${label}-${nonce}` };
}

/** Waits until the browser shows the provider's login page, and returns its pending login's id. */
export async function loginPage(page: Page): Promise<string> {
  await page.waitForURL((url) => url.origin === issuer && url.pathname.startsWith('/login/'));
  const id = await page.locator('[data-login-session]').getAttribute('data-login-session');
  if (!id) throw new Error(`no pending login on ${page.url()}`);
  return id;
}

/** Approves the login the browser is waiting on, as this person in the mini program. */
export async function approveInMiniProgram(page: Page, person: { openid: string; unionid: string }): Promise<MintedCode> {
  return approveLogin(issuer, await loginPage(page), person);
}
