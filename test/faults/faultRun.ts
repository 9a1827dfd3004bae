// The parts every fault case shares: a fleet of fanout-forward clients (scripts/fleet) of each
// transport on one channel, a publisher that keeps publishing through the origin and remembers every id
// it was answered with (and every failure, by status), and the check that prints the case's line and
// fails on anything lost or doubled.
import { expect } from 'vitest';
import type { TransportName } from '../../client/index.ts';
import { TRANSPORT_NAMES } from '../../protocol/index.ts';
import { describeMisses, formatTally, historyIds, tallyDeliveries, tallyFailed, waitForDeliveries, type TransportTally } from '../../scripts/fleet/deliveryTally.ts';
import { createFleet, type Fleet, type MemberSpec } from '../../scripts/fleet/fleet.ts';

const ROUTE = { 'pushpin-route': 'origin' };

/**
 * `perTransport` clients of each transport, from `since` ("0" by default), straight to Pushpin, opened
 * in steps (a burst of new requests makes Pushpin answer 502); resolves once every one is live. The
 * client's idle and silence timeouts unless given: a shorter silence check makes every silent client
 * ask the history (or ping) through Pushpin, whose 1.36 zurl carries ~110 requests/s here, and 2,000
 * clients checking every 10 s doubled the time the origin-restart case took to connect them.
 */
export async function startClients(
  proxyUrl: string,
  channel: string,
  perTransport: number,
  options: { since?: string; transports?: readonly TransportName[]; liveTimeoutMs?: number; idleTimeoutMs?: number; silenceCheckMs?: number } = {},
): Promise<Fleet> {
  const fleet = createFleet({
    url: proxyUrl,
    headers: ROUTE,
    client: {
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      ...(options.silenceCheckMs !== undefined ? { silenceCheckMs: options.silenceCheckMs } : {}),
    },
  });
  const transports = options.transports ?? TRANSPORT_NAMES;
  const specs: MemberSpec[] = [];
  for (let i = 0; i < perTransport; i++) for (const transport of transports) specs.push({ transport, channel, since: options.since ?? '0' });
  try {
    await fleet.addRamped(specs, { batch: 50 * transports.length, pauseMs: 40 });
    await fleet.untilLive(options.liveTimeoutMs ?? 60_000);
  } catch (error) {
    fleet.close();
    throw error;
  }
  return fleet;
}

export interface PublisherRun {
  /** Every id an answer named as stored (200 messages, and the `stored` list of a 502 or 503). */
  acked: Set<number>;
  /** Answers by status ("refused" when no connection could be made). */
  answers: Map<string, number>;
  /** Bodies and headers of the non-200 answers, for checking what a caller was told. */
  failures: Array<{ status: number; body: Record<string, unknown>; retryAfter: string | null; ms: number }>;
  /** The longest any answer took (a publish riding out a fault takes long). */
  slowestMs: number;
  stop(): Promise<void>;
}

/**
 * Publishes `batch` messages on `channel` every `intervalMs`, one request at a time, to the first of
 * `targets()` that accepts a connection (so a second origin can take over while the first is down).
 */
export function startPublisher(options: {
  channel: string;
  targets: () => string[];
  publish: (originUrl: string, body: unknown) => Promise<Response>;
  intervalMs: number;
  batch?: number;
}): PublisherRun {
  const run: PublisherRun = { acked: new Set(), answers: new Map(), failures: [], slowestMs: 0, stop: async () => {} };
  let stopped = false;
  let n = 0;
  const count = (key: string): void => void run.answers.set(key, (run.answers.get(key) ?? 0) + 1);
  const once = async (): Promise<void> => {
    const items = Array.from({ length: options.batch ?? 1 }, () => ({ channel: options.channel, data: { n: n++ } }));
    for (const origin of options.targets()) {
      const started = Date.now();
      let response: Response;
      try {
        response = await options.publish(origin, { items });
      } catch {
        count('refused');
        continue;
      }
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      count(String(response.status));
      run.slowestMs = Math.max(run.slowestMs, Date.now() - started);
      const stored = response.ok ? (body.messages as Array<{ id: string }>) : ((body.stored as Array<{ id: string }> | undefined) ?? []);
      for (const m of stored) run.acked.add(Number(m.id));
      if (!response.ok) run.failures.push({ status: response.status, body, retryAfter: response.headers.get('retry-after'), ms: Date.now() - started });
      return;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await once();
      await new Promise((r) => setTimeout(r, options.intervalMs));
    }
  })();
  run.stop = async () => {
    stopped = true;
    await loop;
  };
  return run;
}

/** Publishes `count` messages at once through `originUrl` and returns their ids. */
export async function publishNow(
  publish: (originUrl: string, body: unknown) => Promise<Response>,
  originUrl: string,
  channel: string,
  count: number,
): Promise<number[]> {
  const response = await publish(originUrl, { items: Array.from({ length: count }, (_, i) => ({ channel, data: { tail: i } })) });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => Number(m.id));
}

/**
 * Every client must have every message the publisher was told was stored and every message the
 * history holds, once each and in order (as the client handed them on). Prints the case's line
 * (delivered / lost / duplicated per transport, and what the clients dropped and recovered from).
 */
export async function expectEveryoneGotEverything(
  caseName: string,
  fleet: Fleet,
  channel: string,
  acked: Iterable<number>,
  originUrl: string,
  options: { timeoutMs?: number; historyMustHoldAcked?: boolean } = {},
): Promise<TransportTally[]> {
  const history = await historyIds(originUrl, channel);
  const expected = new Set<number>([...acked, ...history]);
  if (options.historyMustHoldAcked ?? true) {
    const missing = [...acked].filter((id) => !history.includes(id));
    expect(missing, 'acknowledged ids missing from the history').toEqual([]);
  }
  const expectedIds = new Map([[channel, expected]]);
  await waitForDeliveries(fleet.members, expectedIds, { timeoutMs: options.timeoutMs ?? 60_000 });
  const tallies = tallyDeliveries(fleet.members, expectedIds);
  console.log(formatTally(caseName, tallies));
  if (tallies.some(tallyFailed)) console.log(describeMisses(fleet.members, expectedIds));
  for (const t of tallies) {
    expect({ transport: t.transport, lost: t.lost, duplicated: t.duplicated, outOfOrder: t.outOfOrder, unexpected: t.unexpected }).toEqual({
      transport: t.transport,
      lost: 0,
      duplicated: 0,
      outOfOrder: 0,
      unexpected: 0,
    });
    expect(t.delivered).toBeGreaterThan(0);
  }
  return tallies;
}
