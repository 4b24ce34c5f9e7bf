import { defineConfig } from 'vitest/config';

// In plain Node: end-to-end, real clients against the provider started as `npm start`
// starts it (test/e2e/support/provider.ts; each file starts its own provider), and
// the checks of the tree itself (test/node: import rules, the deploy bundle).
export default defineConfig({
  test: {
    include: ['test/node/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    environment: 'node',
    // One provider (wrangler + workerd) at a time keeps the machine calm and the logs readable.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
