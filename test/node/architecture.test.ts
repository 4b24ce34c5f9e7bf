/** The import rules of src/ (scripts/check-imports.mjs), on the real tree and on trees that break them. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module shared with `npm test`
import { checkImports, readSources } from '../../scripts/check-imports.mjs';

const check = (files: Record<string, string>): string[] => checkImports(new Map(Object.entries(files)));

describe('import rules', () => {
  it('hold for src/', () => {
    expect(check(Object.fromEntries(readSources(fileURLToPath(new URL('../../src', import.meta.url)))))).toEqual([]);
  });

  it.each([
    ['the WeChat client importing the OIDC endpoints', { 'wechat/client.ts': "import { x } from '../oidc/token';", 'oidc/token.ts': '' }, /src\/wechat may not import src\/oidc/],
    ['the production wiring importing the sandbox', { 'app.ts': "import { sandboxRoutes } from './sandbox';", 'sandbox/index.ts': '' }, /src\/app may not import src\/sandbox/],
    ['storage importing an endpoint', { 'store/clients.ts': "import type { Client } from '../login/pages';", 'login/pages.ts': '' }, /src\/store may not import src\/login/],
    ['the login flow importing the admin API', { 'login/pages.ts': "import { adminOnly } from '../admin/auth';", 'admin/auth.ts': '' }, /src\/login may not import src\/admin/],
    ['the admin API importing the OIDC endpoints', { 'admin/users.ts': "import { token } from '../oidc/token';", 'oidc/token.ts': '' }, /src\/admin may not import src\/oidc/],
    ['the login flow importing the OIDC endpoints', { 'login/pages.ts': "export { token } from '../oidc/token';", 'oidc/token.ts': '' }, /src\/login may not import src\/oidc/],
    ['a cycle through types', { 'wechat/a.ts': "import type { B } from './b';", 'wechat/b.ts': "import type { A } from './a';" }, /cycle: wechat\/a.ts -> wechat\/b.ts -> wechat\/a.ts/],
    ['an unknown room', { 'extra/x.ts': "import { OAuthError } from '../errors';", 'errors.ts': '' }, /not a known room/],
  ])('fail for %s', (_, files, problem) => {
    expect(check(files).join('\n')).toMatch(problem);
  });
});
