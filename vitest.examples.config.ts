import { defineConfig } from 'vitest/config';

// The examples (examples/*): each installed with `npm ci` in its own folder and driven
// end to end in headless Chromium against one provider started as `npm start` starts it
// (test/examples/global-setup.ts).
export default defineConfig({
  test: {
    include: ['test/examples/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['./test/examples/global-setup.ts'],
    // The examples share one provider; their browsers and servers run one file at a time
    // on a 2-core machine.
    fileParallelism: false,
    // Deadlines, not sleeps: the browser waits are up to a minute each (WAIT_MS); the global
    // setup starts the provider and installs the examples (several minutes at worst).
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
