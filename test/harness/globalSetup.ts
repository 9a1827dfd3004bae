// Runs once before any test file: installs what the tests need and is missing (apt, as root), so
// parallel test workers never race on the package manager.
import { ensurePushpin } from '../../scripts/pushpin/ensurePushpin.ts';
import { ensureCommand } from '../../scripts/stack/aptPackages.ts';
import { CHROMIUM_HINT } from './browser.ts';
import { redisServerPath } from './redisServer.ts';

export default function setup(): void {
  const log = (line: string): void => console.log(line);
  ensurePushpin(undefined, log);
  redisServerPath(log);
  ensureCommand('chromium', 'chromium', CHROMIUM_HINT, log);
}
