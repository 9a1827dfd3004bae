import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { signal } from './processTree.mjs';

const PROGRAM = fileURLToPath(new URL('./testing/launcherWatchProgram.ts', import.meta.url));

function run(command: string, args: string[], detached: boolean) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], detached });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const waitFor = async (pattern: RegExp): Promise<RegExpExecArray> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const match = pattern.exec(text);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`no ${pattern} in: ${text}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, waitFor };
}

describe('launcher watch', () => {
  it('watches its ancestors up to the group leader, and tells when one of them is SIGKILLed', async () => {
    // sh -> sh -> node, as npm -> sh -> node: the outer sh leads the group (as a shell's job control makes npm).
    const outer = run('sh', ['-c', `sh -c '${process.execPath} --import tsx ${PROGRAM}; true'; true`], true);
    try {
      const [, launchers] = await outer.waitFor(/WATCHING (\[.*\])/);
      const watched = JSON.parse(launchers!) as number[];
      expect(watched).toHaveLength(2);
      expect(watched[1]).toBe(outer.child.pid);
      signal(outer.child.pid!, 'SIGKILL');
      const [, gone] = await outer.waitFor(/GONE (\d+)/);
      expect(Number(gone)).toBe(outer.child.pid);
    } finally {
      signal(-outer.child.pid!, 'SIGKILL');
    }
  });

  it('watches nothing when it leads its own group (its parent is the shell that started the job)', async () => {
    const alone = run(process.execPath, ['--import', 'tsx', PROGRAM], true);
    try {
      const [, launchers] = await alone.waitFor(/WATCHING (\[.*\])/);
      expect(JSON.parse(launchers!)).toEqual([]);
    } finally {
      signal(-alone.child.pid!, 'SIGKILL');
    }
  });
});
