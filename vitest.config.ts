import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const TESTS = '{protocol,client,edge,origin,scripts,test}/**/*.test.ts';

// Files that load this 2-core machine on their own (hundreds of clients or thousands of requests, 1.1-1.6
// busy cores measured while each ran alone): they run one at a time after the rest, so neither they
// nor the timing of others suffer from running side by side.
const RUN_ALONE = [
  'test/faults/cutSessions.e2e.test.ts',
  'test/faults/originRestart.e2e.test.ts',
  'test/recovery/freshChannels.e2e.test.ts',
  'test/pushpin/pushpinBurst.e2e.test.ts',
  'test/transports/wsSubscribeWindow.e2e.test.ts',
  'test/compute-host/computeHostLoad.e2e.test.ts',
];
// Files too heavy to run beside three others but waiting more than computing (0.4-0.9 busy cores
// measured alone: benchmark smoke runs, faults with a hundred clients per transport and waits for
// restarts, Chromium, `npm run serve` under a burst): two at a time, after the parallel files and before the ones that run alone.
// Longest first, the order they start in (PairsLongestFirst).
const RUN_IN_PAIRS = [
  'test/load/plainVsClientBench.e2e.test.ts',
  'test/faults/pushpinRestart.e2e.test.ts',
  'test/client/demoPage.e2e.test.ts',
  'test/faults/redisOutage.e2e.test.ts',
  'test/client/clientBrowserFaults.e2e.test.ts',
  'test/load/chatBench.e2e.test.ts',
  'test/load/fanoutBench.e2e.test.ts',
  'test/load/soakSmoke.e2e.test.ts',
  'test/lifecycle/fastlyServeBurst.e2e.test.ts',
];
const missing = [...RUN_ALONE, ...RUN_IN_PAIRS].filter((file) => !existsSync(fileURLToPath(new URL(file, import.meta.url))));
if (missing.length > 0) throw new Error(`vitest.config.ts: RUN_ALONE or RUN_IN_PAIRS names files that do not exist: ${missing.join(', ')}`);

const ROOT = fileURLToPath(new URL('.', import.meta.url));

/**
 * Vitest's order, but the pairs start in RUN_IN_PAIRS's order, longest first (measured alone), so the
 * two workers end close together. Without timings from an earlier run (a fresh clone) vitest starts
 * the largest files first, and file size says little about how long a file waits.
 */
class PairsLongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification): number => RUN_IN_PAIRS.indexOf(relative(ROOT, file.moduleId));
    const pairs = sorted.filter((file) => file.project.name === 'pairs').sort((a, b) => rank(a) - rank(b));
    let next = 0;
    return sorted.map((file) => (file.project.name === 'pairs' ? pairs[next++]! : file));
  }
}

export default defineConfig({
  resolve: {
    // Edge unit tests run in Node: each `fastly:*` runtime module resolves to a small fake.
    alias: [{ find: /^fastly:(.*)$/, replacement: fileURLToPath(new URL('./edge/testing/fastly/$1.ts', import.meta.url)) }],
  },
  test: {
    // End-to-end files start real Pushpin and origin processes on their own free ports.
    globalSetup: ['test/harness/globalSetup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    sequence: { sequencer: PairsLongestFirst },
    projects: [
      // Everything else, 4 at a time on 2 cores: most end-to-end files wait on processes and timers far
      // more than they compute (the group took 299 s with 3 workers, 247 s with 4, same machine).
      { extends: true, test: { name: 'parallel', include: [TESTS], exclude: [...RUN_ALONE, ...RUN_IN_PAIRS], maxWorkers: 4, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'pairs', include: RUN_IN_PAIRS, maxWorkers: 2, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'alone', include: RUN_ALONE, maxWorkers: 1, sequence: { groupOrder: 2 } } },
    ],
  },
});
