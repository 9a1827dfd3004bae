// Runs once before any test file: installs what the tests need and is missing (apt, as root), and
// builds the edge wasm and client/dist when stale, so parallel test workers never race on the package manager or the build.
import { ensurePushpin } from '../../scripts/pushpin/ensurePushpin.ts';
import { ensureCommand } from '../../scripts/shared/aptPackages.ts';
import { ensureEdgeBuilt } from '../../scripts/compute-host/edgeBuild.ts';
import { ensureClientBuilt } from '../../scripts/client/clientBuild.ts';
import { CHROMIUM_HINT } from './browser.ts';
import { killLeftovers, markTestRun } from './leftoverProcesses.ts';
import { redisServerPath } from '../../scripts/shared/redisServer.ts';

export default function setup(): () => void {
  const log = (line: string): void => console.log(line);
  const runId = markTestRun();
  ensurePushpin(undefined, log);
  redisServerPath(log);
  ensureCommand('chromium', 'chromium', CHROMIUM_HINT, log);
  // Once for all test files: tests with `startTestStack({ edge: true })` run bin/main.wasm.
  ensureEdgeBuilt(log);
  // The client's package export and the bundle the origin serves at /client.js.
  ensureClientBuilt(log);
  return () => killLeftovers(runId, log);
}
