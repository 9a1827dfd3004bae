// Fallback worker entry (see guestWorkerBundle.ts): a worker thread does not inherit the parent's TypeScript loader
// (tsx under `npm start`, vitest's under tests), so it registers tsx itself before loading the worker.
import { register } from 'tsx/esm/api';

register();
await import('./guestWorker.ts');
