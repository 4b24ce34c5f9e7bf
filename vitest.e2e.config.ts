import { defineConfig } from 'vitest/config';

// End-to-end: real clients in plain Node against the provider started as `npm start`
// starts it (test/e2e/support/provider.ts). Each file starts its own provider.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    // One provider (wrangler + workerd) at a time keeps the machine calm and the logs readable.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
