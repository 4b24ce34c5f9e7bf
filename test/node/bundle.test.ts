/**
 * What `wrangler deploy` ships: the production entry's bundle, built by
 * wrangler itself (--dry-run), has none of the sandbox.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outdir = mkdtempSync(join(tmpdir(), 'wechat-oidc-bundle-'));
let bundle = '';

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: 'pipe',
  });
  bundle = readdirSync(outdir)
    .filter((name) => name.endsWith('.js'))
    .map((name) => readFileSync(join(outdir, name), 'utf8'))
    .join('\n');
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the deploy bundle', () => {
  it('is the provider', () => {
    for (const endpoint of ['/wechat/handoff', '/.well-known/openid-configuration', 'api.weixin.qq.com']) expect(bundle.includes(endpoint), endpoint).toBe(true);
  });

  it('has no sandbox code: no fake WeChat, no code minting, no stand-in form', () => {
    for (const marker of ['/sandbox/wechat', 'sandbox:code:', 'sandbox:faults:', 'Sandbox: simulate the mini program', '沙盒', 'sandbox-approve']) {
      expect(bundle.includes(marker), marker).toBe(false);
    }
  });
});
