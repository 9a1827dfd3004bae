// `npm start -- --watch` as a user runs it, in a temporary copy of this checkout (its edge/ and
// origin/ are edited; node_modules is shared): a change in origin/ restarts the origin (a new pid, the
// new code answering) while Pushpin keeps its clients; a burst of changes in edge/ costs one rebuild,
// and the restarted edge serves the new bin/main.wasm; an SSE client through the edge reconnects and
// keeps receiving, every message once and in order; a build that fails keeps the running edge and
// the previous bin/main.wasm, and the next good change recovers.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type ExpectStatic, type TestContext } from 'vitest';
import { EDGE_WASM } from '../../scripts/compute-host/edgeBuild.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { allPorts, commandOf, startNpmStart, waitUntilGone, type NpmStart } from '../harness/npmStart.ts';
import { recordSse } from '../harness/sseClient.ts';

const TOKEN = 'lifecycle-test-token';
/** Generous: a rebuild takes 5-20 s here, more on a loaded machine. */
const STEP_TIMEOUT_MS = 120_000;

/** A copy of the checkout that `npm start` can run from: sources copied, node_modules linked. */
function copyCheckout(): string {
  const root = mkdtempSync(join(tmpdir(), 'watch-checkout-'));
  for (const entry of ['package.json', 'tsconfig.json', 'fastly.toml', 'protocol', 'client', 'edge', 'origin', 'scripts']) {
    cpSync(join(PROJECT_ROOT, entry), join(root, entry), { recursive: true });
  }
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'));
  mkdirSync(join(root, 'bin'));
  // Copied last, so it is newer than the sources: no build at start.
  copyFileSync(EDGE_WASM, join(root, 'bin', 'main.wasm'));
  return root;
}

interface WatchRun {
  npm: NpmStart;
  /** The case's own copy of the checkout. */
  root: string;
  /** Every process of the stack seen, for the clean-up. */
  seen: number[];
  cleanups: Array<() => void>;
}

/**
 * `npm start -- --watch` in a copy of the checkout of the case's own (the cases edit it, and run
 * concurrently); it, what the case connected and every process seen are gone when the case ends.
 */
async function startWatching(context: TestContext): Promise<WatchRun> {
  const root = copyCheckout();
  const cleanups: Array<() => void> = [() => rmSync(root, { recursive: true, force: true })];
  context.onTestFinished(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });
  const run: WatchRun = { npm: await startNpmStart({ root, args: ['--watch'] }), root, seen: [], cleanups };
  cleanups.push(() => run.npm.killAll(run.seen));
  return run;
}

/** Edits files of the copy at `root`: replaces `from` in `path` (throws when it is not there). */
function editorFor(root: string): (path: string, from: string | RegExp, to: string) => void {
  return (path, from, to) => {
    const file = join(root, path);
    const text = readFileSync(file, 'utf8');
    const changed = text.replace(from, to);
    if (changed === text) throw new Error(`${path}: nothing to replace for ${String(from)}`);
    writeFileSync(file, changed);
  };
}

const md5 = (path: string): string => createHash('md5').update(readFileSync(path)).digest('hex');

/** Waits until `pattern` (global) has matched `count` times in the output; returns the last match. */
async function waitForCount(npm: NpmStart, pattern: RegExp, count: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const matches = [...npm.output().matchAll(pattern)];
    if (matches.length >= count) return matches[count - 1]!;
    if (Date.now() > deadline) throw new Error(`${pattern} did not appear ${count} times within ${STEP_TIMEOUT_MS} ms:\n${npm.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function publish(npm: NpmStart, text: string, expect: ExpectStatic): Promise<string> {
  const response = await fetch(`${npm.urls.origin}/api/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel: 'watched', data: { text } }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages[0]!.id;
}

const pidOf = (npm: NpmStart, pattern: RegExp): number | undefined => npm.tree().find((pid) => pattern.test(commandOf(pid)));
const ORIGIN = /origin\/server\.ts/;
const EDGE = /compute-host\/cli\.ts/;

// Each case runs its own `npm start -- --watch` in its own copy of the checkout: they run at once.
describe.concurrent('npm start -- --watch', () => {
  it('restarts the origin on origin/ changes, rebuilds and restarts the edge on edge/ changes; clients recover', async (context) => {
    const { expect } = context;
    const run = await startWatching(context);
    const { npm, cleanups } = run;
    const edit = editorFor(run.root);
    await npm.waitForOutput(/watch: watching edge\/ .* and origin\/ /, 90_000);
    run.seen = npm.tree();

    const sse = recordSse(`${npm.urls.edge}/events/watched`);
    cleanups.push(() => sse.close());
    let opens = 0;
    const resets: unknown[] = [];
    sse.source.addEventListener('open', () => opens++);
    sse.source.addEventListener('reset', (event) => resets.push(JSON.parse((event as unknown as { data: string }).data)));
    await sse.opened;
    const ids = [await publish(npm, 'before any change', expect)];
    await sse.waitFor(1, 20_000);

    // origin/: a new process answers with the new code; Pushpin kept holding the SSE client.
    const originBefore = pidOf(npm, ORIGIN);
    expect(originBefore).toBeDefined();
    edit('origin/app.ts', "json({ status: 'ok' })", "json({ status: 'ok', watched: 'changed' })");
    const [, originPid] = await waitForCount(npm, /watch: origin restarted \(pid (\d+)\)/g, 1);
    expect(Number(originPid)).not.toBe(originBefore);
    expect(pidOf(npm, ORIGIN)).toBe(Number(originPid));
    expect(await (await fetch(`${npm.urls.origin}/healthz`)).json()).toEqual({ status: 'ok', watched: 'changed' });
    expect(npm.output()).toMatch(/its history was in memory and starts over/);
    ids.push(await publish(npm, 'after the origin restarted', expect));
    const [, first] = await sse.waitFor(2, 20_000);
    // The memory history started a new epoch: its first message follows "0", not the client's last id.
    // A client applying the prev rule comes back from its last id and is told of the restart (see
    // test/recovery/restarts.e2e.test.ts); this plain EventSource takes the message as it comes.
    expect((first!.data as { prev: string }).prev).toBe('0');
    expect(resets).toEqual([]);
    expect(opens).toBe(1);

    // edge/: a burst of three files is one rebuild; the restarted edge serves the new wasm.
    const edgeBefore = pidOf(npm, EDGE);
    const before = await fetch(`${npm.urls.edge}/healthz`);
    expect(before.headers.get('x-origin-backend')).toBe('origin');
    edit('edge/handleRequest.ts', "ORIGIN_BACKEND_HEADER = 'x-origin-backend'", "ORIGIN_BACKEND_HEADER = 'x-watched-backend'");
    edit('edge/index.ts', '// The Compute entry point', '// (watch test) The Compute entry point');
    edit('edge/errors/gatewayErrors.ts', /^/, '// (watch test)\n');
    const [, edgePid] = await waitForCount(npm, /watch: edge restarted \(pid (\d+)\) in [\d.]+ s, serving the new bin\/main\.wasm/g, 1);
    expect([...npm.output().matchAll(/watch: edge\/ changed \(([^)]*)\); rebuilding/g)].map((m) => m[1]!.split(', ').sort())).toEqual([
      ['errors/gatewayErrors.ts', 'handleRequest.ts', 'index.ts'],
    ]);
    expect(Number(edgePid)).not.toBe(edgeBefore);
    const after = await fetch(`${npm.urls.edge}/healthz`);
    expect(after.status).toBe(200);
    expect(after.headers.get('x-watched-backend')).toBe('origin');
    expect(after.headers.get('x-origin-backend')).toBeNull();

    // The SSE client lost its connection with the old edge, reconnected (Last-Event-ID) and goes on.
    ids.push(await publish(npm, 'after the edge restarted', expect));
    const events = await sse.waitFor(3, 30_000);
    expect(opens).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sse.events.map((e) => e.id)).toEqual(ids);
    expect(events.map((e) => (e.data as { data: { text: string } }).data.text)).toEqual([
      'before any change',
      'after the origin restarted',
      'after the edge restarted',
    ]);

    // A build that fails (the app throws at start-up): the running edge stays, and so does the
    // previous bin/main.wasm (still older than the sources, so the next start rebuilds).
    const wasm = join(run.root, 'bin', 'main.wasm');
    const goodWasm = md5(wasm);
    edit('edge/index.ts', /^/, "throw new Error('watch test: broken at start-up');\n");
    await waitForCount(npm, /watch: npm run build failed \(1\) after [\d.]+ s; the edge keeps running the previous bin\/main\.wasm/g, 1);
    expect(npm.output()).toMatch(/watch test: broken at start-up/);
    expect(pidOf(npm, EDGE)).toBe(Number(edgePid));
    expect(md5(wasm)).toBe(goodWasm);
    expect(statSync(wasm).mtimeMs).toBeLessThan(statSync(join(run.root, 'edge', 'index.ts')).mtimeMs);
    const stillServing = await fetch(`${npm.urls.edge}/healthz`);
    expect(stillServing.headers.get('x-watched-backend')).toBe('origin');

    // Fixed: rebuilt and restarted again.
    edit('edge/index.ts', "throw new Error('watch test: broken at start-up');\n", '');
    const [, fixedPid] = await waitForCount(npm, /watch: edge restarted \(pid (\d+)\)/g, 2);
    expect(Number(fixedPid)).not.toBe(Number(edgePid));
    expect((await fetch(`${npm.urls.edge}/healthz`)).status).toBe(200);
    ids.push(await publish(npm, 'after the fix', expect));
    await sse.waitFor(4, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sse.events.map((e) => e.id)).toEqual(ids);

    // Ctrl-C stops everything, as without --watch.
    sse.close();
    const members = npm.tree();
    run.seen = [...run.seen, ...members];
    npm.signalGroup('SIGINT');
    const gone = await waitUntilGone([npm.pid, ...members], allPorts(npm.ports), 10_000);
    expect(gone.alive).toEqual([]);
    if (process.env.SHOW_NPM_OUTPUT) console.log(npm.output());
    console.log(`watch: Ctrl-C stopped ${members.length + 1} processes in ${gone.elapsedMs} ms`);
    for (const [line] of npm.output().matchAll(/watch: (built bin\/main\.wasm|origin restarted|edge restarted)[^;,\n]* in [\d.]+ s/g)) console.log(line);
  }, 600_000);

  it('Ctrl-C during a rebuild stops everything within 3 s and leaves the previous bin/main.wasm', async (context) => {
    const { expect } = context;
    const run = await startWatching(context);
    const { npm } = run;
    const edit = editorFor(run.root);
    await npm.waitForOutput(/watch: watching edge\/ /, 90_000);
    const wasm = join(run.root, 'bin', 'main.wasm');
    const before = md5(wasm);
    edit('edge/index.ts', /^/, '// (watch test: interrupted build)\n');
    await waitForCount(npm, /watch: edge\/ changed \(index\.ts\); rebuilding/g, 1);
    // Well into the build (js-compute-runtime running), before it is done.
    const deadline = Date.now() + 30_000;
    while (!npm.tree().some((pid) => /js-compute-runtime/.test(commandOf(pid)))) {
      if (Date.now() > deadline) throw new Error(`the build never ran:\n${npm.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const members = npm.tree();
    run.seen = members;
    npm.signalGroup('SIGINT');
    const gone = await waitUntilGone([npm.pid, ...members], allPorts(npm.ports), 8000);
    console.log(`watch: Ctrl-C during a rebuild stopped ${members.length + 1} processes in ${gone.elapsedMs} ms`);
    expect(gone.alive).toEqual([]);
    expect(gone.elapsedMs).toBeLessThanOrEqual(3000);
    expect(npm.output()).not.toMatch(/edge restarted/);
    expect(md5(wasm)).toBe(before);
  }, 300_000);
});
