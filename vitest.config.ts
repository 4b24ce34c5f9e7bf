import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
// @ts-expect-error: a plain ES module shared with the scripts
import { rotate } from './scripts/keys.mjs';
import { TEST_APPS } from './test/fixtures/apps.ts';

// Two published keys, as during a rotation: the newest (RS256) signs.
const signingKeys = await rotate(await rotate(undefined, 'ES256'), 'RS256');

export default defineConfig({
  plugins: [
    cloudflareTest({
      // The development entry: the app with the WeChat sandbox.
      main: './src/dev.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          ISSUER: 'http://localhost:8787',
          SIGNING_KEYS: JSON.stringify(signingKeys),
          REGISTRATION_TOKEN: 'test-registration-token',
          ADMIN_TOKEN: 'test-admin-token',
          PAIRWISE_SECRET: 'test-pairwise-secret-of-at-least-32-characters',
          WECHAT_APPS: JSON.stringify(TEST_APPS),
          TEST_MIGRATIONS: await readD1Migrations('./migrations'),
        },
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/node/**', 'test/examples/**'],
    setupFiles: ['./test/setup.ts'],
  },
});
