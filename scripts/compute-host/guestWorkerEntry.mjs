// Worker entry in plain JavaScript: a worker thread does not inherit the parent's TypeScript loader
// (tsx under `npm start`, vitest's under tests), so it registers tsx itself before loading the worker.
import { register } from 'tsx/esm/api';

register();
// node:wasi announces itself as experimental once per thread; the host's log does not need that.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  if (String(warning).includes('WASI is an experimental feature')) return;
  emitWarning(warning, ...rest);
};
await import('./guestWorker.ts');
