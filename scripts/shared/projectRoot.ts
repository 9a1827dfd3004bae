import { fileURLToPath } from 'node:url';

/** The repository root, whatever the working directory. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
