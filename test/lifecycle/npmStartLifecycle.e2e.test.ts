// `npm start` as a user runs it (npm -> start.ts, exec'd -> the stack), on free ports from a
// temporary manifest: every process it started is gone within 3 s of SIGINT/SIGTERM/SIGHUP (also during
// start-up and with clients connected), and within 5 s when its top process is SIGKILLed.
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'node:http';
import { describe, it, type ExpectStatic, type TestContext } from 'vitest';
import { descendantsOf } from '../../scripts/shared/managedProcess.ts';
import { allPorts, commandOf, cpuSeconds, outcome, startNpmStart, waitUntilGone, type NpmStart, type NpmStartOptions } from '../harness/npmStart.ts';
import { runSlots } from '../harness/runSlots.ts';
import { recordSse, type SseRecorder } from '../harness/sseClient.ts';
import { recordWs, type WsRecorder } from '../harness/wsClient.ts';

const TOKEN = 'lifecycle-test-token';
const STOP_BOUND_MS = 3000;
const ORPHAN_BOUND_MS = 5000;
/** start.ts itself: `npm start` is `exec node --import tsx scripts/start.ts`. */
const START_TS = /node --import tsx scripts\/start\.ts/;

// Each case runs an `npm start` of its own on its own ports, so the cases run concurrently, three at a
// time: more stacks starting beside one that is stopping would eat into the 3 s bound's headroom.
const inSlot = runSlots(3);

/** One case's `npm start`, what it connected, and every process of its tree seen: all killed when the case ends. */
interface Run {
  npm: NpmStart;
  seen: Set<number>;
  cleanups: Array<() => void>;
}

async function start(context: TestContext, options: NpmStartOptions): Promise<Run> {
  const npm = await startNpmStart(options);
  const run: Run = { npm, seen: new Set(), cleanups: [] };
  context.onTestFinished(() => {
    for (const cleanup of run.cleanups.splice(0)) cleanup();
    npm.killAll([...run.seen]);
  });
  return run;
}

async function startAndWaitUp(context: TestContext, options: NpmStartOptions = {}): Promise<Run> {
  const run = await start(context, options);
  await run.npm.waitForOutput(/Local stack is up/, 90_000);
  return run;
}

/** The processes of the `npm start` tree by their role, for messages and assertions. */
function describeTree(pids: number[]): string {
  return pids.map((pid) => `${pid} ${commandOf(pid).slice(0, 100)}`).join('\n');
}

function stackMembers({ npm, seen }: Run): number[] {
  const tree = npm.tree();
  for (const pid of tree) seen.add(pid);
  return tree;
}

async function publish(npm: NpmStart, data: unknown, expect: ExpectStatic): Promise<void> {
  const response = await fetch(`${npm.urls.origin}/api/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel: 'lifecycle', data }),
  });
  expect(response.status).toBe(200);
}

/** An SSE client and a WebSocket through the edge, both proven live, plus an idle keep-alive connection
 *  and a half-sent request straight to the origin. */
async function connectClients({ npm, cleanups }: Run, expect: ExpectStatic): Promise<void> {
  const sse: SseRecorder = recordSse(`${npm.urls.edge}/events/lifecycle`);
  cleanups.push(() => sse.close());
  await sse.opened;
  const ws: WsRecorder = recordWs(npm.urls.edge);
  cleanups.push(() => ws.socket.terminate());
  ws.socket.on('error', () => {});
  await ws.opened;
  ws.send({ type: 'subscribe', channel: 'lifecycle' });
  await ws.waitFor(1, (f) => f.type === 'subscribed');
  await publish(npm, { n: 1 }, expect);
  await sse.waitFor(1);

  const agent = new Agent({ keepAlive: true });
  cleanups.push(() => agent.destroy());
  await new Promise<void>((resolve, reject) => {
    request(`${npm.urls.origin}/healthz`, { agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    })
      .on('error', reject)
      .end();
  });
  const halfSent: Socket = connect(npm.ports.origin, '127.0.0.1');
  halfSent.on('error', () => {});
  cleanups.push(() => halfSent.destroy());
  await new Promise<void>((resolve) => halfSent.once('connect', () => resolve()));
  halfSent.write('POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"chan');
}

describe.concurrent('npm start process lifecycle', () => {
  it.for([
    ['SIGTERM', 'npm', 'a process manager or an IDE stop button signals npm', 'clients'],
    // npm passes SIGINT and SIGTERM on to the script's process, which `exec` in package.json makes
    // start.ts itself (without it, sh got them and waited for its child without passing SIGINT on).
    ['SIGINT', 'npm', 'kill -INT on npm alone', 'clients'],
    ['SIGHUP', 'npm', 'kill -HUP on npm: npm dies of it, the rest is left to notice', 'clients'],
    ['SIGINT', 'group', 'Ctrl-C in the terminal, while the edge ignores SIGTERM (stopped with SIGSTOP)', 'hung edge'],
    ['SIGHUP', 'group', 'the terminal closes: its end of the output pipes goes away too', 'output closed'],
  ] as const)('%s to %s (%s), clients connected: everything gone within 3 s', { timeout: 120_000 }, ([signal, target, _why, condition], context) => inSlot(async () => {
    const { expect } = context;
    const run = await startAndWaitUp(context);
    const { npm } = run;
    await connectClients(run, expect);
    const members = stackMembers(run);
    // npm, start.ts, the Pushpin runner with 4 services, the origin, the edge and their keepers at least.
    expect(members.length, describeTree(members)).toBeGreaterThanOrEqual(9);
    if (condition === 'hung edge') {
      const edge = members.find((pid) => /compute-host\/cli\.ts/.test(commandOf(pid)));
      expect(edge, describeTree(members)).toBeDefined();
      process.kill(edge!, 'SIGSTOP');
    }
    if (condition === 'output closed') {
      npm.child.stdout?.destroy();
      npm.child.stderr?.destroy();
    }
    const sent = Date.now();
    if (target === 'group') npm.signalGroup(signal);
    else process.kill(npm.pid, signal);
    const gone = await waitUntilGone([npm.pid, ...members], allPorts(npm.ports), STOP_BOUND_MS + 5000);
    console.log(`${signal} to ${target} (${condition}): ${outcome(gone)} (${members.length + 1} processes) ${Date.now() - sent} ms after the signal`);
    expect(gone.alive, `still running ${gone.elapsedMs} ms after ${signal}:\n${describeTree(gone.alive)}`).toEqual([]);
    expect(gone.busyPorts).toEqual([]);
    expect(gone.elapsedMs).toBeLessThanOrEqual(STOP_BOUND_MS);
  }));

  it.for(['npm', 'start.ts'] as const)(
    'SIGKILL of %s: every stack process exits by itself within 5 s',
    { timeout: 120_000 },
    (victim, context) => inSlot(async () => {
      const { expect } = context;
      const run = await startAndWaitUp(context);
      const { npm } = run;
      await connectClients(run, expect);
      const members = stackMembers(run);
      const startTs = members.find((pid) => START_TS.test(commandOf(pid)));
      expect(startTs, describeTree(members)).toBeDefined();
      const killed = victim === 'npm' ? npm.pid : startTs!;
      const sent = Date.now();
      process.kill(killed, 'SIGKILL');
      const gone = await waitUntilGone([npm.pid, ...members], allPorts(npm.ports), ORPHAN_BOUND_MS + 5000);
      console.log(`SIGKILL of ${victim}: ${outcome(gone)} ${Date.now() - sent} ms after the SIGKILL`);
      expect(gone.alive, `still running ${gone.elapsedMs} ms after SIGKILL of ${victim}:\n${describeTree(gone.alive)}`).toEqual([]);
      expect(gone.busyPorts).toEqual([]);
      expect(gone.elapsedMs).toBeLessThanOrEqual(ORPHAN_BOUND_MS);
    }),
  );

  it.for([
    ['while Pushpin starts', /\/pushpin --config=/],
    ['while the origin starts', /origin\/server\.ts/],
    ['while the edge starts', /compute-host\/cli\.ts/],
  ] as const)('Ctrl-C during start-up (%s): everything gone within 3 s, and the stack never comes up', { timeout: 120_000 }, ([_when, trigger], context) => inSlot(async () => {
    const { expect } = context;
    const { npm, seen } = await start(context, { quiet: false });
    // Watch the tree closely so that processes spawned around the signal are counted too.
    const collect = (): number[] => {
      const tree = descendantsOf(npm.pid);
      for (const pid of tree) seen.add(pid);
      return tree;
    };
    const deadline = Date.now() + 90_000;
    while (!collect().some((pid) => trigger.test(commandOf(pid)))) {
      if (Date.now() > deadline) throw new Error(`never saw ${trigger}:\n${npm.output()}`);
      if (/Local stack is up/.test(npm.output())) throw new Error('the stack came up before the trigger was seen');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const sent = Date.now();
    npm.signalGroup('SIGINT');
    const watcher = setInterval(collect, 10);
    try {
      const gone = await waitUntilGone([npm.pid, ...seen], allPorts(npm.ports), STOP_BOUND_MS + 5000);
      // Anything spawned after the first check is in `seen` now; check once more.
      const again = await waitUntilGone([...seen], allPorts(npm.ports), 0);
      console.log(`Ctrl-C ${_when}: ${outcome(gone)} (${seen.size} processes) ${Date.now() - sent} ms after the signal`);
      expect([...gone.alive, ...again.alive], describeTree([...gone.alive, ...again.alive])).toEqual([]);
      expect(gone.busyPorts).toEqual([]);
      expect(gone.elapsedMs).toBeLessThanOrEqual(STOP_BOUND_MS);
    } finally {
      clearInterval(watcher);
    }
    expect(npm.output()).not.toMatch(/Local stack is up/);
  }));

  it('start.ts whose output pipe was closed neither spins nor outlives it: the stack stops', (context) => inSlot(async () => {
    const { expect } = context;
    // --verbose: start.ts echoes the edge's line per request (by default it shows only problems).
    const run = await startAndWaitUp(context, { quiet: false, args: ['--verbose'] });
    const { npm } = run;
    const members = stackMembers(run);
    const startTs = members.find((pid) => START_TS.test(commandOf(pid)))!;
    // The reader goes away (an IDE closing its terminal pipe); npm itself stays.
    npm.child.stdout?.destroy();
    npm.child.stderr?.destroy();
    const before = cpuSeconds(startTs);
    // The edge logs every request and start.ts echoes it: output into the closed pipe.
    for (let i = 0; i < 5; i++) {
      await fetch(`${npm.urls.edge}/healthz`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
    }
    const gone = await waitUntilGone([npm.pid, ...members], allPorts(npm.ports), ORPHAN_BOUND_MS);
    let used = Number.NaN;
    try {
      used = cpuSeconds(startTs) - before;
    } catch {
      used = 0; // exited
    }
    console.log(`start.ts with a closed stdout: CPU ${used.toFixed(2)} s; ${outcome(gone)} after ${gone.elapsedMs} ms`);
    expect(gone.alive, describeTree(gone.alive)).toEqual([]);
    expect(gone.busyPorts).toEqual([]);
  }), 120_000);
});
