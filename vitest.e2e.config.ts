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
    // Generous: every wait inside the tests ends on its condition, these only stop a hang.
    // A test's browser waits are up to a minute each (WAIT_MS); a beforeAll starts a
    // provider (up to 3 minutes a start, repeated if another process took a port).
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
