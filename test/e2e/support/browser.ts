/**
 * Real headless Chromium for the end-to-end tests: Debian's `chromium` driven by
 * playwright-core (no bundled browser download). Each launch gets a fresh profile
 * directory, so no cookie or cache leaks between runs, and `close()` leaves
 * neither a process nor the profile behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

/** Debian's chromium; CHROMIUM overrides it (another distribution, a local build). */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/**
 * How long the browser tests wait for a page, an element or an arrival. Deadlines, not
 * sleeps: on an idle machine the waits end in well under a second. The headroom is for a
 * loaded 2-core machine, where the login page's status polling (every 1.5 s, backing off
 * up to 30 s after a failed poll) and a cold worker can take far longer than usual.
 */
export const WAIT_MS = 60_000;

export interface Browser {
  context: BrowserContext;
  /** The first tab, the one the tests drive. */
  page: Page;
  /** Closes Chromium and deletes its profile; safe to call twice. */
  close(): Promise<void>;
}

/** What a failed test saw last: the page the browser was on, and the provider's output (tails). */
export async function reportFailure(browser: Browser | undefined, providerOutput: string): Promise<void> {
  if (browser) console.error(`--- browser at ${browser.page.url()} ---\n${(await browser.page.content().catch(() => '')).slice(0, 4000)}`);
  console.error(`--- provider output (tail) ---\n${providerOutput.slice(-4000)}`);
}

export async function launchBrowser(options: Omit<BrowserContextOptions, 'baseURL'> = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'wechat-oidc-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      // Chromium's start competes with wrangler's (the tests start both at once).
      timeout: 120_000,
      args: ARGS,
      colorScheme: 'light',
      ...options,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  // Every wait of Playwright's (navigation, locator, waitForFunction) ends on its condition or on this.
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  let closed: Promise<void> | undefined;
  return {
    context,
    page,
    close: () =>
      (closed ??= (async () => {
        await context.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
      })()),
  };
}

/**
 * A relying party's redirect target: a tiny HTTP server on 127.0.0.1 that answers
 * every GET with a small page and remembers the URLs it was asked for.
 * (Playwright's routing cannot stand in for it: a route sees only the first URL
 * of a redirect chain, and the provider reaches the client by redirecting.)
 */
export interface RelyingParty {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Every path and query the browser brought here, in order. */
  visits: string[];
  close(): Promise<void>;
}

export async function startRelyingParty(): Promise<RelyingParty> {
  const visits: string[] = [];
  const server = createServer((request, response) => {
    visits.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end('<!doctype html><title>Relying party</title><p>Back at the client.</p>');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    origin: `http://127.0.0.1:${port}`,
    visits,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}

/**
 * Waits for the browser to arrive at `target` (any query), and returns the full URL it arrived at.
 * The login page gets there by itself, at its next status poll, so this waits on the URL rather
 * than on any number of polls.
 */
export async function arrivalAt(page: Page, target: string, timeout = WAIT_MS): Promise<URL> {
  const base = new URL(target);
  const matches = (url: URL) => url.origin === base.origin && url.pathname === base.pathname;
  await page.waitForURL(matches, { timeout, waitUntil: 'commit' });
  return new URL(page.url());
}
