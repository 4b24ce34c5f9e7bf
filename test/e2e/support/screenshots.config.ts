import { defineConfig } from 'vitest/config';

// `npm run screenshots`: regenerates docs/login-*.png and docs/miniprogram-approve-*.png. Not part of `npm test`
// (tests must not rewrite tracked files); vitest only runs the TypeScript.
export default defineConfig({
  test: {
    include: ['test/e2e/support/screenshots.ts'],
    environment: 'node',
    // startProvider waits up to 3 minutes for a start on a loaded machine.
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
