// Preloaded into the origin that `npm run serve` starts (node --import): stops it when the process that
// started it is gone, however that went (SIGKILL included), so no origin outlives `npm run serve`.
import { watchParents } from './parentWatch.ts';

// The origin's own SIGTERM handler closes the server and exits.
watchParents(() => process.kill(process.pid, 'SIGTERM'));
