// The source watch on a real folder: bursts, atomic saves, new folders, ignored files.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isIgnoredSourcePath, watchSources, type SourceWatch } from './sourceWatch.ts';

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
let open: SourceWatch | undefined;
let dir = '';

afterEach(async () => {
  await open?.close();
  open = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function watched(): Promise<{ bursts: string[][]; next(timeoutMs?: number): Promise<string[]> }> {
  dir = mkdtempSync(join(tmpdir(), 'source-watch-'));
  mkdirSync(join(dir, 'routes'));
  writeFileSync(join(dir, 'app.ts'), 'a');
  const bursts: string[][] = [];
  open = watchSources(dir, (files) => bursts.push(files), { quietMs: 150 });
  await open.ready;
  let seen = 0;
  return {
    bursts,
    /**
     * The files of the next burst, with those of any burst that follows it before the watch goes
     * quiet (500 ms): on a loaded machine the events of one change can arrive late enough to make a
     * second burst, which must not be taken for the next step's.
     */
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (bursts.length <= seen) {
        if (Date.now() > deadline) throw new Error(`no burst within ${timeoutMs} ms (had ${JSON.stringify(bursts)})`);
        await settle(20);
      }
      let count = bursts.length;
      for (;;) {
        await settle(500);
        if (bursts.length === count) break;
        count = bursts.length;
      }
      const files = [...new Set(bursts.slice(seen, count).flat())];
      seen = count;
      return files;
    },
  };
}

describe('source watch', () => {
  it('reports a burst of changes once, with each file', async () => {
    const w = await watched();
    writeFileSync(join(dir, 'app.ts'), 'b');
    writeFileSync(join(dir, 'routes', 'new.ts'), 'c');
    writeFileSync(join(dir, 'app.ts'), 'd');
    expect((await w.next()).sort()).toEqual(['app.ts', join('routes', 'new.ts')]);
    await settle(500);
    expect(w.bursts).toHaveLength(1);
  });

  it('keeps seeing a file after an atomic save (temporary file renamed over it)', async () => {
    const w = await watched();
    writeFileSync(join(dir, '.app.ts.tmp'), 'saved');
    renameSync(join(dir, '.app.ts.tmp'), join(dir, 'app.ts'));
    expect(await w.next()).toEqual(['app.ts']);
    // Node 20's recursive fs.watch on Linux lost the file here: this change went unreported.
    writeFileSync(join(dir, 'app.ts'), 'edited after');
    expect(await w.next()).toEqual(['app.ts']);
  });

  it('sees files in folders created after it started, and deletions', async () => {
    const w = await watched();
    mkdirSync(join(dir, 'history', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'history', 'deep', 'store.ts'), '1');
    expect(await w.next()).toContain(join('history', 'deep', 'store.ts'));
    writeFileSync(join(dir, 'history', 'deep', 'store.ts'), '2');
    expect(await w.next()).toEqual([join('history', 'deep', 'store.ts')]);
    rmSync(join(dir, 'app.ts'));
    expect(await w.next()).toEqual(['app.ts']);
  });

  it('ignores editor files, backups and unit tests', async () => {
    const w = await watched();
    writeFileSync(join(dir, '.app.ts.swp'), 'x');
    writeFileSync(join(dir, 'app.ts~'), 'x');
    writeFileSync(join(dir, 'app.test.ts'), 'x');
    await settle(600);
    expect(w.bursts).toEqual([]);
    writeFileSync(join(dir, 'app.ts'), 'real');
    expect(await w.next()).toEqual(['app.ts']);
  });

  it('names what it ignores', () => {
    for (const path of ['.git/x', 'a/.#b.ts', 'b.ts~', 'node_modules/x/index.js', 'routes/x.test.ts', 'x.test.mjs']) {
      expect(isIgnoredSourcePath(path), path).toBe(true);
    }
    for (const path of ['app.ts', 'routes/sseRoutes.ts', 'static/index.html', 'testing/fastly/env.ts']) {
      expect(isIgnoredSourcePath(path), path).toBe(false);
    }
  });
});
