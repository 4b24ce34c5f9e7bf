/** `npm run keys` (scripts/generate-key.mjs, docs/keys.md): staged rotation and pruning, read back by the provider's own rule. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, type Env } from '../../src/config';
import { CLOCK_SKEW, getKeyRing, keysAt } from '../../src/tokens/keys';
// @ts-expect-error: a plain ES module shared with vitest.config.ts and `npm start`
import { generateSigningKey, RETENTION } from '../../scripts/keys.mjs';

const script = fileURLToPath(new URL('../../scripts/generate-key.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'keys-script-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Jwk {
  kid: string;
  alg: string;
  nbf?: number;
  d?: string;
}

/** Runs `npm run keys -- ...args` from the scratch folder, as npm would (INIT_CWD). */
const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { env: { ...process.env, INIT_CWD: dir }, encoding: 'utf8' });

function keysFile(name: string, keys: Jwk[]): string {
  writeFileSync(join(dir, name), JSON.stringify({ keys }));
  return name;
}

const now = () => Math.floor(Date.now() / 1000);
const TOKEN_LIFETIME = 3600;

describe('npm run keys', () => {
  it('--rotate --in 24h puts a new key in front that signs only from then; the provider reads it so', async () => {
    const first = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8' })) as { keys: Jwk[] };
    expect(first.keys).toHaveLength(1);
    expect(first.keys[0]).not.toHaveProperty('nbf');
    const started = now();
    const result = run('--rotate', '--in', '24h', keysFile('first.json', first.keys));
    expect(result.status, result.stderr).toBe(0);
    const { keys } = JSON.parse(result.stdout) as { keys: Jwk[] };
    expect(keys.slice(1)).toEqual(first.keys);
    expect(keys[0]!.nbf! - started).toBeGreaterThanOrEqual(86_400);
    expect(keys[0]!.nbf! - now()).toBeLessThanOrEqual(86_400);
    expect(result.stderr).toContain(`signs from ${new Date(keys[0]!.nbf! * 1000).toISOString()}`);

    const ring = await getKeyRing(result.stdout.trim(), TOKEN_LIFETIME);
    expect(ring.at(now()).signing.kid).toBe(first.keys[0]!.kid);
    expect(ring.at(now()).published.map((key) => key.kid)).toEqual(keys.map((key) => key.kid));
    expect(ring.at(keys[0]!.nbf!).signing.kid).toBe(keys[0]!.kid);
  });

  it.each([
    ['--in 90m', 5400, ['--in', '90m']],
    ['--in 7d', 604_800, ['--in', '7d']],
    ['--in 0', 0, ['--in', '0']],
    ['no --in', 0, []],
  ])('--rotate with %s signs %i seconds later', (_, seconds, delay) => {
    const file = keysFile('one.json', [{ kid: 'only', alg: 'RS256' }]);
    const started = now();
    const result = run('--rotate', ...delay, file);
    expect(result.status, result.stderr).toBe(0);
    const { keys } = JSON.parse(result.stdout) as { keys: Jwk[] };
    expect(keys.map((key) => key.kid).slice(1)).toEqual(['only']);
    expect(keys[0]!.nbf! - started - seconds).toBeGreaterThanOrEqual(0);
    expect(keys[0]!.nbf! - now() - seconds).toBeLessThanOrEqual(0);
  });

  it('--prune removes exactly the keys the provider no longer publishes', async () => {
    const t = now();
    const [c, b, a] = await Promise.all(['c', 'b', 'a'].map(async (kid) => ({ ...(await generateSigningKey('ES256')), kid }) as Jwk));
    // b took over from a two hours ago: a's tokens have all expired. c took over from b ten minutes ago.
    const keys = [{ ...c!, nbf: t - 600 }, { ...b!, nbf: t - 7200 }, a!];
    const result = run('--prune', keysFile('three.json', keys));
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ keys: keys.slice(0, 2) });
    expect(result.stderr).toContain('removed a');

    const ring = await getKeyRing(JSON.stringify({ keys }), TOKEN_LIFETIME);
    const { published } = keysAt(ring.keys, TOKEN_LIFETIME + CLOCK_SKEW, t);
    expect(published.map((key) => key.kid)).toEqual(['c', 'b']);
  });

  it('--prune keeps a key retired within the token lifetime, and one superseded by a key without nbf', () => {
    const t = now();
    const recent = [{ kid: 'new', alg: 'RS256', nbf: t - 3600 }, { kid: 'old', alg: 'RS256' }];
    expect(JSON.parse(run('--prune', keysFile('recent.json', recent)).stdout)).toEqual({ keys: recent });
    const unknown = [{ kid: 'new', alg: 'RS256' }, { kid: 'old', alg: 'RS256', nbf: t - 86_400 }];
    expect(JSON.parse(run('--prune', keysFile('unknown.json', unknown)).stdout)).toEqual({ keys: unknown });
  });

  it('prunes by the provider\'s rule: the longest token lifetime and the clock skew', () => {
    const env = { ISSUER: 'https://id.example.com', REGISTRATION_TOKEN: 'r', PAIRWISE_SECRET: 'x'.repeat(32) } as Env;
    const { ttl } = parseConfig(env);
    expect(RETENTION).toBe(Math.max(ttl.accessToken, ttl.idToken) + CLOCK_SKEW);
  });

  it.each([
    ['--in 24x', ['--rotate', '--in', '24x'], /--in/],
    ['--in 1.5h', ['--rotate', '--in', '1.5h'], /--in/],
    ['--in 5 (no unit)', ['--rotate', '--in', '5'], /--in/],
    ['--in soon', ['--rotate', '--in', 'soon'], /--in/],
    ['--in 400d', ['--rotate', '--in', '400d'], /365d/],
    ['--in -1h', ['--rotate', '--in', '-1h'], /--in/],
    ['--in empty', ['--rotate', '--in', ''], /--in/],
    ['--in without --rotate', ['--in', '24h'], /--in goes with --rotate/],
    ['--rotate with --prune', ['--rotate', '--prune'], /separate/],
  ])('refuses %s, printing no keys', (_, args, message) => {
    const result = run(...args, keysFile('refused.json', [{ kid: 'only', alg: 'RS256' }]));
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage: npm run keys');
  });
});
