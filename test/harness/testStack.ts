// A private local stack per test file: free ports, logs in a temporary directory, stopped afterwards.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type EdgeOptions, type LocalStack, type StackPorts } from '../../scripts/stack/localStack.ts';
import { freeStackPorts } from '../../scripts/shared/ports.ts';
import type { PushpinProfileName } from '../../scripts/pushpin/pushpinProfiles.ts';
import { TEST_PUSHPIN_PROFILE } from './testPushpinProfile.ts';

export const TEST_PUBLISH_TOKEN = 'test-publish-token-123';

/** A test stack always runs Pushpin, so its pid and log are there. */
export interface TestStack extends Omit<LocalStack, 'pids' | 'logFiles'> {
  pids: LocalStack['pids'] & { pushpin: number };
  logFiles: LocalStack['logFiles'] & { pushpin: string };
  publishToken: string;
  /** POST /api/publish on the origin with the test token. */
  publish(body: unknown): Promise<Response>;
}

export interface TestStackOptions {
  originEnv?: Record<string, string>;
  /** Also run the edge (bin/main.wasm on the local Compute host): `stack.urls.edge`. */
  edge?: boolean | EdgeOptions;
  /** Shorthand for `edge.backends`: extra backends (name -> url) for the edge and Pushpin. */
  backends?: Record<string, string>;
  /** Shorthand for `edge.configStores.edge_settings`: entries over fastly.toml's edge settings. */
  edgeSettings?: Record<string, string>;
  /** Reuse the ports of an earlier stack (to restart it where clients expect it); free ports by default. */
  ports?: StackPorts;
  /** Pushpin's delivery settings; default the run's (TEST_PUSHPIN_PROFILE: PUSHPIN_PROFILE or the default). */
  pushpinProfile?: PushpinProfileName;
}

function edgeOptionsFor(options: TestStackOptions): EdgeOptions | undefined {
  if (!options.edge) return undefined;
  const base: EdgeOptions = options.edge === true ? {} : options.edge;
  return {
    ...base,
    backends: { ...base.backends, ...options.backends },
    configStores: {
      ...base.configStores,
      ...(options.edgeSettings ? { edge_settings: { ...base.configStores?.edge_settings, ...options.edgeSettings } } : {}),
    },
  };
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const edge = edgeOptionsFor(options);
  const stack = await startLocalStack({
    ports: options.ports ?? (await freeStackPorts({ edge: edge !== undefined })),
    ...(edge ? { edge } : {}),
    originEnv: { PUBLISH_TOKEN: TEST_PUBLISH_TOKEN, LOG_LEVEL: 'warn', ...options.originEnv },
    logDir: mkdtempSync(join(tmpdir(), 'stack-logs-')),
    echo: false,
    log: () => {},
    pushpin: true,
    pushpinProfile: options.pushpinProfile ?? TEST_PUSHPIN_PROFILE,
  });
  const { pids, logFiles } = stack;
  if (pids.pushpin === undefined || logFiles.pushpin === undefined) throw new Error('the test stack started no Pushpin');
  return {
    ...stack,
    // The same objects (a restart updates pids), typed with Pushpin present.
    pids: pids as TestStack['pids'],
    logFiles: logFiles as TestStack['logFiles'],
    publishToken: TEST_PUBLISH_TOKEN,
    publish: (body) =>
      fetch(`${stack.urls.origin}/api/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TEST_PUBLISH_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }),
  };
}
