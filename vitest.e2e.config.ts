import { defineConfig } from 'vitest/config';

// End-to-end: real clients in plain Node against the provider started as `npm start`
// starts it (test/e2e/support/provider.ts). Each file starts its own provider.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
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
