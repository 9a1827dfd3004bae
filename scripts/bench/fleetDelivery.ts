// One delivery run for the small benchmarks (`delivery`, `wsFanout`): N fanout-forward clients of one
// transport (a fleet, scripts/fleet) on one channel of a running stack, M messages published through
// the origin at R a second, each carrying its publish time; the latency of every message as the
// client hands it on, and delivered / lost / duplicated against the ids the origin answered with.
import type { TransportName } from '../../client/index.ts';
import { tallyDeliveries, waitForDeliveries, type TransportTally } from '../fleet/deliveryTally.ts';
import { createFleet, type MemberSpec } from '../fleet/fleet.ts';

export interface FleetDeliveryOptions {
  /** Where the clients connect: Pushpin's proxy or the edge. */
  url: string;
  headers?: Record<string, string>;
  originUrl: string;
  publishToken: string;
  channel: string;
  transport: TransportName;
  subscribers: number;
  messages: number;
  /** Messages a second. */
  rate: number;
  /** Clients opened `batch` at a time, `pauseMs` apart (a burst of new connections makes Pushpin 1.36 answer 502). */
  ramp: { batch: number; pauseMs: number };
  /** How long to wait for the last deliveries after the last publish. */
  drainMs: number;
}

export interface FleetDeliveryResult {
  /** Publish -> handed on, ms, ascending. */
  latencies: number[];
  tally: TransportTally;
  /** From the first publish until every client had everything (or the drain ended). */
  seconds: number;
}

export async function measureFleetDelivery(options: FleetDeliveryOptions): Promise<FleetDeliveryResult> {
  const latencies: number[] = [];
  const fleet = createFleet({
    url: options.url,
    ...(options.headers ? { headers: options.headers } : {}),
    onMessage: (_member, message) => {
      const sentAt = (message.data as { sentAt?: unknown } | null)?.sentAt;
      if (typeof sentAt === 'number') latencies.push(Date.now() - sentAt);
    },
  });
  try {
    const specs: MemberSpec[] = Array.from({ length: options.subscribers }, () => ({ transport: options.transport, channel: options.channel }));
    await fleet.addRamped(specs, options.ramp);
    await fleet.untilLive(60_000);
    await new Promise((r) => setTimeout(r, 500)); // the proxy applies the last subscriptions
    const acked = new Set<number>();
    const start = performance.now();
    for (let seq = 0; seq < options.messages; seq++) {
      const wait = start + (seq * 1000) / options.rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const response = await fetch(`${options.originUrl}/api/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${options.publishToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: options.channel, data: { seq, sentAt: Date.now() } }),
      });
      if (!response.ok) throw new Error(`publish ${seq} failed: ${response.status} ${await response.text()}`);
      for (const m of ((await response.json()) as { messages: Array<{ id: string }> }).messages) acked.add(Number(m.id));
    }
    const expected = new Map([[options.channel, acked]]);
    await waitForDeliveries(fleet.members, expected, { timeoutMs: options.drainMs, settleMs: 0 });
    const seconds = (performance.now() - start) / 1000;
    const [tally] = tallyDeliveries(fleet.members, expected);
    return { latencies: latencies.sort((a, b) => a - b), tally: tally!, seconds };
  } finally {
    fleet.close();
  }
}
