import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{edge,origin,scripts,test}/**/*.test.ts'],
    // End-to-end files start real Pushpin and origin processes on their own free ports.
    globalSetup: ['test/harness/globalSetup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
