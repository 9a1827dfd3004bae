// The Pushpin profile end-to-end tests run under: PUSHPIN_PROFILE for the whole run
// (`PUSHPIN_PROFILE=fanout npx vitest run test/publishing/delivery.e2e.test.ts`), else the default one. A test
// that needs a particular profile passes it itself (startTestStack({ pushpinProfile })).
import { pushpinProfileFromEnv, type PushpinProfileName } from '../../scripts/pushpin/pushpinProfiles.ts';

/** Read once per test file; an unknown name fails the file at once, naming the variable. */
export const TEST_PUSHPIN_PROFILE: PushpinProfileName = pushpinProfileFromEnv(process.env);
