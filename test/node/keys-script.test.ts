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
  it('makes a new set of one RS256 and one ES256 key, signing at once: ID tokens RS256, access tokens ES256', async () => {
    const { keys } = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8' })) as { keys: (Jwk & Record<string, unknown>)[] };
    expect(keys.map((key) => [key.alg, key.use])).toEqual([['RS256', 'sig'], ['ES256', 'sig']]);
    expect(keys[0]).toMatchObject({ kty: 'RSA', d: expect.any(String) });
    expect(keys[1]).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) });
    for (const key of keys) expect(key).not.toHaveProperty('nbf');
    const keySet = (await getKeyRing(JSON.stringify({ keys }), TOKEN_LIFETIME)).at(now());
    expect([keySet.idTokens.kid, keySet.accessTokens.kid]).toEqual(keys.map((key) => key.kid));
  });

  it.each(['RS256', 'ES256'])('--rotate --alg %s --in 24h puts a new key of that algorithm in front, signing only from then; the other keeps signing', async (alg) => {
    const first = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8' })) as { keys: Jwk[] };
    const started = now();
    const result = run('--rotate', '--alg', alg, '--in', '24h', keysFile('first.json', first.keys));
    expect(result.status, result.stderr).toBe(0);
    const { keys } = JSON.parse(result.stdout) as { keys: Jwk[] };
    expect(keys.slice(1)).toEqual(first.keys);
    expect(keys[0]!.nbf! - started).toBeGreaterThanOrEqual(86_400);
    expect(keys[0]!.nbf! - now()).toBeLessThanOrEqual(86_400);
    expect(result.stderr).toContain(`signs from ${new Date(keys[0]!.nbf! * 1000).toISOString()}`);

    expect(keys[0]!.alg).toBe(alg);

    const ring = await getKeyRing(result.stdout.trim(), TOKEN_LIFETIME);
    const [rs, es] = first.keys.map((key) => key.kid);
    const signers = (time: number) => [ring.at(time).idTokens.kid, ring.at(time).accessTokens.kid];
    expect(signers(now())).toEqual([rs, es]);
    expect(ring.at(now()).published.map((key) => key.kid)).toEqual(keys.map((key) => key.kid));
    expect(signers(keys[0]!.nbf!)).toEqual(alg === 'RS256' ? [keys[0]!.kid, es] : [rs, keys[0]!.kid]);
    // The other algorithm's key is not retired by it: still published a day after the new key took over.
    expect(ring.at(keys[0]!.nbf! + 86_400).published.map((key) => key.kid)).toEqual([keys[0]!.kid, alg === 'RS256' ? es : rs]);
  });

  it('--rotate --alg ES256 adds the first ES256 key to a set of RS256 keys: access tokens RS256 until its nbf', async () => {
    const rs = await generateSigningKey('RS256');
    const result = run('--rotate', '--alg', 'ES256', '--in', '90m', keysFile('rs-only.json', [rs]));
    expect(result.status, result.stderr).toBe(0);
    const { keys } = JSON.parse(result.stdout) as { keys: Jwk[] };
    expect(keys.map((key) => key.alg)).toEqual(['ES256', 'RS256']);
    const ring = await getKeyRing(result.stdout.trim(), TOKEN_LIFETIME);
    expect(ring.at(now()).accessTokens.kid).toBe(rs.kid);
    expect(ring.at(keys[0]!.nbf!).accessTokens.kid).toBe(keys[0]!.kid);
  });

  it.each([
    ['--in 90m', 5400, ['--in', '90m']],
    ['--in 7d', 604_800, ['--in', '7d']],
    ['--in 0', 0, ['--in', '0']],
    ['no --in', 0, []],
  ])('--rotate with %s signs %i seconds later', (_, seconds, delay) => {
    const file = keysFile('one.json', [{ kid: 'only', alg: 'RS256' }]);
    const started = now();
    const result = run('--rotate', '--alg', 'RS256', ...delay, file);
    expect(result.status, result.stderr).toBe(0);
    const { keys } = JSON.parse(result.stdout) as { keys: Jwk[] };
    expect(keys.map((key) => key.kid).slice(1)).toEqual(['only']);
    expect(keys[0]!.nbf! - started - seconds).toBeGreaterThanOrEqual(0);
    expect(keys[0]!.nbf! - now() - seconds).toBeLessThanOrEqual(0);
  });

  it('--prune removes exactly the keys the provider no longer publishes', async () => {
    const t = now();
    const [c, b, a] = await Promise.all(['c', 'b', 'a'].map(async (kid) => ({ ...(await generateSigningKey('ES256')), kid }) as Jwk));
    const r = { ...(await generateSigningKey('RS256')), kid: 'r' } as Jwk;
    // b took over from a two hours ago: a's tokens have all expired. c took over from b ten minutes ago. r (RS256) retires none of them.
    const keys = [{ ...c!, nbf: t - 600 }, { ...b!, nbf: t - 7200 }, a!, r];
    const result = run('--prune', keysFile('four.json', keys));
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ keys: [keys[0], keys[1], r] });
    expect(result.stderr).toContain('removed a');

    const ring = await getKeyRing(JSON.stringify({ keys }), TOKEN_LIFETIME);
    const { published } = keysAt(ring.keys, TOKEN_LIFETIME + CLOCK_SKEW, t);
    expect(published.map((key) => key.kid)).toEqual(['c', 'b', 'r']);
  });

  it('--prune goes by algorithm: a new RS256 key retires the old RS256 key only, never the ES256 key', async () => {
    const t = now();
    const [rs2, es, rs1] = await Promise.all([generateSigningKey('RS256'), generateSigningKey('ES256'), generateSigningKey('RS256')]);
    const keys = [{ ...rs2, nbf: t - 7200 }, es, rs1];
    const result = run('--prune', keysFile('mixed.json', keys));
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ keys: keys.slice(0, 2) });
    expect(result.stderr).toContain(`removed ${rs1.kid}`);
    const ring = await getKeyRing(JSON.stringify({ keys }), TOKEN_LIFETIME);
    expect(keysAt(ring.keys, TOKEN_LIFETIME + CLOCK_SKEW, t).published.map((key) => key.kid)).toEqual([rs2.kid, es.kid]);
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
    ['--in 24x', ['--rotate', '--alg', 'RS256', '--in', '24x'], /--in/],
    ['--in 1.5h', ['--rotate', '--alg', 'RS256', '--in', '1.5h'], /--in/],
    ['--in 5 (no unit)', ['--rotate', '--alg', 'RS256', '--in', '5'], /--in/],
    ['--in soon', ['--rotate', '--alg', 'RS256', '--in', 'soon'], /--in/],
    ['--in 400d', ['--rotate', '--alg', 'RS256', '--in', '400d'], /365d/],
    ['--in -1h', ['--rotate', '--alg', 'RS256', '--in', '-1h'], /--in/],
    ['--in empty', ['--rotate', '--alg', 'RS256', '--in', ''], /--in/],
    ['--in without --rotate', ['--in', '24h'], /--in goes with --rotate/],
    ['--rotate with --prune', ['--rotate', '--alg', 'RS256', '--prune'], /separate/],
    ['--rotate without --alg', ['--rotate'], /--rotate needs --alg/],
    ['--rotate --alg PS256', ['--rotate', '--alg', 'PS256'], /--rotate needs --alg/],
    ['--alg without --rotate', ['--alg', 'ES256'], /--alg goes with --rotate/],
  ])('refuses %s, printing no keys', (_, args, message) => {
    const result = run(...args, keysFile('refused.json', [{ kid: 'only', alg: 'RS256' }]));
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage: npm run keys');
  });

  it.each([
    ['--rotate --alg ES256 of a set of ES256 keys', ['--rotate', '--alg', 'ES256']],
    ['--prune of a set of ES256 keys', ['--prune']],
  ])('refuses %s, as the provider would: ID tokens need an RS256 key', (_, args) => {
    const result = run(...args, keysFile('es-only.json', [{ kid: 'only', alg: 'ES256' }]));
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/no RS256 key.*--rotate --alg RS256/);
  });
});
