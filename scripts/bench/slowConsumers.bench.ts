// Slow consumers through the real Pushpin 1.36: clients of every transport, half of which stop reading
// while a burst larger than their socket buffers plus Pushpin's 256 KiB client buffer is published,
// then read again. The clients are fanout-forward clients (a fleet, scripts/fleet) with a 25 s idle
// timeout. Prints delivered / lost / duplicated per transport and what the clients recovered from;
// asserts nothing: it shows how the client copes with a known gap of Pushpin (it leaves such sessions
// open but silent, drops WebSocket frames, and a stream coming back can skip pages). Knobs: BENCH_SLOW_CLIENTS (6 per transport),
// BENCH_SLOW_MESSAGES (2000), BENCH_SLOW_BYTES (3000 per message).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../shared/ports.ts';
import { TRANSPORT_NAMES } from '../../protocol/index.ts';
import { formatTally, historyIds, tallyDeliveries, waitForDeliveries } from '../fleet/deliveryTally.ts';
import { createFleet } from '../fleet/fleet.ts';
import { benchInteger, benchPushpinProfile } from './benchEnv.ts';

const TOKEN = 'bench-publish-token';

export async function run(): Promise<void> {
  const perTransport = benchInteger('BENCH_SLOW_CLIENTS', 6, 2, 200);
  const messages = benchInteger('BENCH_SLOW_MESSAGES', 2000, 100, 100_000);
  const bytes = benchInteger('BENCH_SLOW_BYTES', 3000, 10, 60_000);
  const stack = await startLocalStack({
    pushpinProfile: benchPushpinProfile(),
    ports: await freeStackPorts(),
    originEnv: { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: 'warn', HISTORY_MAX_MESSAGES: '1000000' },
    logDir: mkdtempSync(join(tmpdir(), 'bench-slow-')),
    echo: false,
    log: () => {},
  });
  const channel = 'slow-consumers';
  const fleet = createFleet({ url: stack.urls.pushpinProxy, headers: { 'pushpin-route': 'origin' }, client: { idleTimeoutMs: 25_000 } });
  const clients = fleet.members;
  const publish = async (items: unknown[]): Promise<number[]> => {
    const response = await fetch(`${stack.urls.origin}/api/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ items }),
    });
    if (!response.ok) throw new Error(`publish answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => Number(m.id));
  };
  try {
    for (const transport of TRANSPORT_NAMES) for (let i = 0; i < perTransport; i++) fleet.add({ transport, channel, since: '0' });
    await fleet.untilLive(60_000);
    const acked = new Set(await publish([{ channel, data: 'first' }]));
    await waitForDeliveries(clients, new Map([[channel, acked]]), { timeoutMs: 30_000, settleMs: 0 });
    const resumes = clients.filter((_, i) => i % 2 === 0).map((client) => client.stall(120_000));
    const pad = 'x'.repeat(bytes);
    for (let sent = 0; sent < messages; sent += 100) {
      for (const id of await publish(Array.from({ length: Math.min(100, messages - sent) }, (_, n) => ({ channel, data: { pad, n: sent + n } })))) acked.add(id);
    }
    await new Promise((r) => setTimeout(r, 2000));
    for (const resume of resumes) resume?.();
    for (const id of await publish([{ channel, data: 'last' }])) acked.add(id);
    const expected = new Map([[channel, new Set([...acked, ...(await historyIds(stack.urls.origin, channel))])]]);
    await waitForDeliveries(clients, expected, { timeoutMs: 60_000 });
    console.log(formatTally(`slow consumers: ${perTransport} per transport, half stalled during ${messages} x ${bytes} B`, tallyDeliveries(clients, expected)));
  } finally {
    fleet.close();
    await stack.stop();
  }
}
