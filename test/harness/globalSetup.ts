// Runs once before any test file: installs Pushpin if it is missing (apt, as root), so parallel test
// workers never race on the package manager.
import { ensurePushpin } from '../../scripts/pushpin/ensurePushpin.ts';

export default function setup(): void {
  ensurePushpin(undefined, (line) => console.log(line));
}
