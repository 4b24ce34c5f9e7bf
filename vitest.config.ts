import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
// @ts-expect-error: a plain ES module shared with the scripts
import { newKeySet } from './scripts/keys.mjs';
import { TEST_APPS } from './test/fixtures/apps.ts';

// A set as `npm run keys` makes it: RS256 signs ID tokens, ES256 access tokens.
const signingKeys = await newKeySet();

const WEBHOOK_RECEIVER = 'https://webhooks.test.example';

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
          // One receiver hears every life-cycle event, so that logins queue them (outboundService below takes the deliveries).
          WEBHOOKS: JSON.stringify([
            { url: `${WEBHOOK_RECEIVER}/in`, secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, events: ['user.created', 'user.linked', 'user.deleted', 'login.succeeded'] },
          ]),
          TEST_MIGRATIONS: await readD1Migrations('./migrations'),
        },
        // The deliveries queue's consumer runs during the tests: the test receiver takes its webhooks.
        outboundService: (request: Request) => (request.url.startsWith(WEBHOOK_RECEIVER) ? new Response(null, { status: 204 }) : fetch(request)),
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/node/**', 'test/examples/**'],
    setupFiles: ['./test/setup.ts'],
  },
});
