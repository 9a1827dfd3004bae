import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Edge unit tests run in Node: each `fastly:*` runtime module resolves to a small fake.
    alias: [{ find: /^fastly:(.*)$/, replacement: fileURLToPath(new URL('./edge/testing/fastly/$1.ts', import.meta.url)) }],
  },
  test: {
    include: ['{protocol,client,edge,origin,scripts,test}/**/*.test.ts'],
    // End-to-end files start real Pushpin and origin processes on their own free ports.
    globalSetup: ['test/harness/globalSetup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
