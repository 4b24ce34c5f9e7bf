import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
// @ts-expect-error: a plain ES module shared with the scripts
import { newKeySet } from './scripts/keys.mjs';
import { TEST_APPS } from './test/fixtures/apps.ts';

// A set as `npm run keys` makes it: RS256 signs ID tokens, ES256 access tokens.
const signingKeys = await newKeySet();

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
          // One receiver hears every life-cycle event, so that logins queue them (nothing listens on the port).
          WEBHOOKS: JSON.stringify([
            { url: 'http://127.0.0.1:9/webhooks', secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, events: ['user.created', 'user.linked', 'user.deleted', 'login.succeeded'] },
          ]),
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
