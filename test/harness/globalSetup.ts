// Runs once before any test file: installs Pushpin if it is missing (apt, as root) and builds the edge
// wasm when stale, so parallel test workers never race on the package manager or the build.
import { ensurePushpin } from '../../scripts/pushpin/ensurePushpin.ts';
import { ensureEdgeBuilt } from '../../scripts/compute-host/edgeBuild.ts';

export default function setup(): void {
  ensurePushpin(undefined, (line) => console.log(line));
  // Once for all test files: tests with `startTestStack({ edge: true })` run bin/main.wasm.
  ensureEdgeBuilt((line) => console.log(line));
}
