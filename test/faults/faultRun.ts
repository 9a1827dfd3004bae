// The parts every fault case shares: resuming clients of each transport on one channel, a publisher
// that keeps publishing through the origin and remembers every id it was answered with (and every
// failure, by status), and the check that prints the case's line and fails on any loss or duplicate.
import { expect } from 'vitest';
import { formatTally, historyIds, tallyDeliveries, waitForDeliveries, type TransportTally } from '../../scripts/soak/deliveryTally.ts';
import { CLIENT_FACTORIES, TRANSPORT_NAMES, type ResumingClient, type TransportName } from '../../scripts/soak/resumingClients.ts';

const ROUTE = { 'pushpin-route': 'origin' };

/** `perTransport` clients of each transport, from `since`, opened in steps (a burst of new requests makes Pushpin answer 502). */
export async function startClients(
  proxyUrl: string,
  channel: string,
  perTransport: number,
  options: { since?: string; transports?: readonly TransportName[]; liveTimeoutMs?: number; idleTimeoutMs?: number } = {},
): Promise<ResumingClient[]> {
  const clients: ResumingClient[] = [];
  const transports = options.transports ?? TRANSPORT_NAMES;
  for (let i = 0; i < perTransport; i += 50) {
    for (const transport of transports) {
      for (let j = i; j < Math.min(perTransport, i + 50); j++) {
        clients.push(
          CLIENT_FACTORIES[transport]({
            baseUrl: proxyUrl,
            channel,
            headers: ROUTE,
            since: options.since ?? '0',
            ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
          }),
        );
      }
    }
    await new Promise((r) => setTimeout(r, 40));
  }
  await untilLive(clients, options.liveTimeoutMs ?? 60_000);
  return clients;
}

/** Until every client is connected (a long-poll: waiting for its answer). */
export async function untilLive(clients: readonly ResumingClient[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (clients.some((c) => !c.live)) {
    if (Date.now() > deadline) {
      const down = clients.filter((c) => !c.live);
      throw new Error(`${down.length} clients not connected after ${timeoutMs} ms (${[...new Set(down.map((c) => c.transport))].join(', ')})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
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
 * history holds, once each. Prints the case's line (delivered / lost / duplicated per transport).
 */
export async function expectEveryoneGotEverything(
  caseName: string,
  clients: readonly ResumingClient[],
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
  await waitForDeliveries(clients, expectedIds, { timeoutMs: options.timeoutMs ?? 60_000 });
  const tallies = tallyDeliveries(clients, expectedIds);
  console.log(formatTally(caseName, tallies));
  if (tallies.some((t) => t.lost > 0 || t.duplicated > 0)) console.log(describeMisses(clients, expected));
  for (const t of tallies) {
    expect({ transport: t.transport, lost: t.lost, duplicated: t.duplicated, unexpected: t.unexpected }).toEqual({
      transport: t.transport,
      lost: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(t.delivered).toBeGreaterThan(0);
  }
  return tallies;
}

export function closeAll(clients: readonly ResumingClient[]): void {
  for (const client of clients) client.close();
}

/** Which ids were missed, by how many clients of each transport: the first thing to look at when a case fails. */
export function describeMisses(clients: readonly ResumingClient[], expected: ReadonlySet<number>): string {
  const misses = new Map<string, Map<number, number>>();
  for (const client of clients) {
    const byId = misses.get(client.transport) ?? new Map<number, number>();
    misses.set(client.transport, byId);
    for (const id of expected) if (!client.ids.has(id)) byId.set(id, (byId.get(id) ?? 0) + 1);
  }
  const sorted = [...expected].sort((a, b) => a - b);
  const lines = [`expected ${sorted.length} ids: ${sorted[0]}..${sorted.at(-1)}`];
  for (const [transport, byId] of misses) {
    if (byId.size === 0) continue;
    const list = [...byId].sort((a, b) => a[0] - b[0]).slice(0, 40).map(([id, n]) => `${id}x${n}`);
    const positions = clients.filter((c) => c.transport === transport && [...byId.keys()].some((id) => !c.ids.has(id))).slice(0, 5).map((c) => `${c.position}${c.live ? '' : '(down)'}`);
    lines.push(`${transport} missed: ${list.join(' ')}; positions of some that missed: ${positions.join(' ')}`);
    const one = clients.find((c) => c.transport === transport && [...byId.keys()].some((id) => !c.ids.has(id)));
    if (one) {
      const ids = [...one.ids].sort((a, b) => a - b);
      lines.push(`  one of them: ${ids.length} ids, ${ids[0]}..${ids.at(-1)}, ${one.live ? 'connected' : 'not connected'}; ${one.history.join('; ')}`);
    }
  }
  return lines.join('\n');
}
