// The type check of every part (npm run typecheck: the origin and scripts, the edge, protocol and the
// client, each with its own tsconfig), as one file of the suite: it runs beside the end-to-end files,
// which mostly wait on processes and timers, instead of before all of them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

it('type-checks cleanly (npm run typecheck)', async () => {
  const result = await promisify(execFile)('npm', ['run', '--silent', 'typecheck'], { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 }).then(
    () => ({ ok: true, output: '' }),
    (error: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
  );
  expect(result.output).toBe('');
  expect(result.ok).toBe(true);
}, 300_000);
