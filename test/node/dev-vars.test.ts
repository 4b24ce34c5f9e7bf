/** `npm start`'s local secrets (scripts/dev-vars.mjs, docs/protocol.md §1): the missing ones are added, none is changed. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module shared with `npm start`
import { ensureDevVars } from '../../scripts/dev-vars.mjs';

const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'dev-vars-'));
  dirs.push(dir);
  return join(dir, '.dev.vars');
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the local secrets file', () => {
  it('is created, private, with the development tokens, the admin API\'s included', async () => {
    const path = scratch();
    const { added, vars } = await ensureDevVars(path);
    expect([...added].sort()).toEqual(['ADMIN_TOKEN', 'PAIRWISE_SECRET', 'REGISTRATION_TOKEN', 'SIGNING_KEYS', 'WECHAT_APPS']);
    expect(vars).toMatchObject({ ADMIN_TOKEN: 'dev-admin-token', REGISTRATION_TOKEN: 'dev-registration-token' });
    // Random per machine: a pairwise sub must not be computable from a value everyone knows.
    expect(vars.PAIRWISE_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await ensureDevVars(scratch())).vars.PAIRWISE_SECRET).not.toBe(vars.PAIRWISE_SECRET);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('gains the admin token when it lacks one, and keeps every value already there', async () => {
    const path = scratch();
    writeFileSync(path, "REGISTRATION_TOKEN=mine\nSIGNING_KEYS='{\"keys\":[]}'\nWECHAT_APPS='[]'\nPAIRWISE_SECRET=my-own-pairwise-secret", { mode: 0o600 });
    const { added } = await ensureDevVars(path);
    expect(added).toEqual(['ADMIN_TOKEN']);
    expect(parseEnv(readFileSync(path, 'utf8'))).toEqual({
      REGISTRATION_TOKEN: 'mine',
      SIGNING_KEYS: '{"keys":[]}',
      WECHAT_APPS: '[]',
      PAIRWISE_SECRET: 'my-own-pairwise-secret',
      ADMIN_TOKEN: 'dev-admin-token',
    });

    writeFileSync(path, 'ADMIN_TOKEN=my-own-admin-token\n', { mode: 0o600 });
    const again = await ensureDevVars(path);
    expect(again.added).not.toContain('ADMIN_TOKEN');
    expect(again.vars.ADMIN_TOKEN).toBe('my-own-admin-token');
  });
});
