// Puts every `fastly:*` fake back to its empty state between unit tests.
import { resetBackends } from './fastly/backend.ts';
import { resetConfigStores } from './fastly/config-store.ts';
import { resetEnv } from './fastly/env.ts';
import { resetFanout } from './fastly/fanout.ts';

export function resetFastlyFakes(): void {
  resetBackends();
  resetConfigStores();
  resetEnv();
  resetFanout();
}
