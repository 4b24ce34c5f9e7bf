/**
 * `npm start` as docs/protocol.md §1 describes it: missing local secrets are created (and
 * only the missing ones), migrations are applied, the provider serves its issuer,
 * and stopping it leaves no process behind. The helper points the start script at
 * a throwaway secrets file and state directory, so the repository's own
 * `.dev.vars` must come out of this untouched.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { groupAlive, startProvider } from './support/provider.ts';

const repoDevVars = fileURLToPath(new URL('../../.dev.vars', import.meta.url));
const snapshot = () => (existsSync(repoDevVars) ? `${statSync(repoDevVars).mtimeMs}\n${readFileSync(repoDevVars, 'utf8')}` : 'absent');

async function discover(issuer: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

// Each test starts its own provider (startProvider waits up to 3 minutes for it on a loaded
// machine, and may start it again if a port was taken) and stops it (up to a minute).
describe('npm start (docs/protocol.md §1)', { timeout: 600_000 }, () => {
  it('creates the local secrets, serves the issuer and stops without leftovers', async () => {
    const before = snapshot();
    const provider = await startProvider();
    try {
      expect(statSync(provider.devVarsPath).mode & 0o777).toBe(0o600);
      const vars = parseEnv(readFileSync(provider.devVarsPath, 'utf8'));
      const signingKeys = JSON.parse(vars.SIGNING_KEYS ?? '{}') as { keys: { kid: string; alg: string; d?: string }[] };
      // One key per algorithm: RS256 for ID tokens, ES256 for access tokens.
      expect(signingKeys.keys.map((key) => key.alg)).toEqual(['RS256', 'ES256']);
      for (const key of signingKeys.keys) expect(key.d).toEqual(expect.any(String));
      expect(provider.registrationToken).toBe('dev-registration-token');
      expect(vars.ADMIN_TOKEN).toBe('dev-admin-token');
      expect(provider.wechatApps.map((app) => app.kind).sort()).toEqual(['app', 'miniprogram', 'officialaccount', 'website']);
      for (const app of provider.wechatApps) expect(app.appid).toMatch(/^wx[0-9a-f]{16}$/);

      const metadata = await discover(provider.issuer);
      expect(metadata.issuer).toBe(provider.issuer);
      // The generated keys are the ones published, without their private parts.
      const jwks = (await (await fetch(String(metadata.jwks_uri))).json()) as { keys: Record<string, unknown>[] };
      expect(jwks.keys.map((key) => key.kid)).toEqual(signingKeys.keys.map((key) => key.kid));
      for (const key of jwks.keys) expect(key).not.toHaveProperty('d');

      // The generated admin token opens the running provider's admin API.
      const imported = await fetch(`${provider.issuer}/admin/users`, {
        method: 'POST',
        headers: { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' },
        body: JSON.stringify({ phone: '+8613800138000' }),
      });
      expect(imported.status).toBe(201);
    } finally {
      await provider.stop();
    }
    expect(groupAlive(provider.pgid)).toBe(false);
    expect(snapshot()).toBe(before);
  });

  it('keeps the secrets a developer set and adds only the missing ones', async () => {
    const provider = await startProvider({ devVars: 'REGISTRATION_TOKEN=my-own-token\n' });
    try {
      const text = readFileSync(provider.devVarsPath, 'utf8');
      expect(text.startsWith('REGISTRATION_TOKEN=my-own-token\n')).toBe(true);
      expect(Object.keys(parseEnv(text)).sort()).toEqual(['ADMIN_TOKEN', 'PAIRWISE_SECRET', 'REGISTRATION_TOKEN', 'SIGNING_KEYS', 'WECHAT_APPS']);
      expect(provider.registrationToken).toBe('my-own-token');

      // The running provider uses the developer's token, not the default one.
      const { registration_endpoint } = await discover(provider.issuer);
      const register = (token: string) =>
        fetch(String(registration_endpoint), {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'] }),
        });
      expect((await register('dev-registration-token')).status).toBe(401);
      expect((await register('my-own-token')).status).toBe(201);
    } finally {
      await provider.stop();
    }
  });
});
