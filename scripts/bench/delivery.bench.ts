// Fan-out delivery: N SSE subscribers (fanout-forward clients, a fleet) held by the real Pushpin, M
// messages published through the origin's /api/publish at a steady rate; prints latency quantiles
// (publish call -> message handed on by the client), loss and duplicates. Knobs: BENCH_SUBSCRIBERS,
// BENCH_MESSAGES, BENCH_RATE (msg/s), BENCH_VIA=pushpin|edge|both (default both: straight to Pushpin's
// proxy port, and through the edge on the local Compute host, which hands the request off to Pushpin
// and pipes the stream back).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEdgeBuilt } from '../compute-host/edgeBuild.ts';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../shared/ports.ts';
import { benchInteger, benchPushpinProfile, quantile } from './benchEnv.ts';
import { measureFleetDelivery } from './fleetDelivery.ts';

const TOKEN = 'bench-publish-token';

type Via = 'pushpin' | 'edge';

function viaList(): Via[] {
  const raw = process.env.BENCH_VIA ?? 'both';
  if (raw === 'both') return ['pushpin', 'edge'];
  if (raw === 'pushpin' || raw === 'edge') return [raw];
  throw new Error(`BENCH_VIA must be pushpin, edge or both, got "${raw}"`);
}

export async function run(): Promise<void> {
  const subscribers = benchInteger('BENCH_SUBSCRIBERS', 500, 1, 5000);
  const messages = benchInteger('BENCH_MESSAGES', 200, 1, 100000);
  const rate = benchInteger('BENCH_RATE', 20, 1, 10000);
  const vias = viaList();
  if (vias.includes('edge')) ensureEdgeBuilt(() => {});
  for (const via of vias) await measure(via, subscribers, messages, rate);
}

async function measure(via: Via, subscribers: number, messages: number, rate: number): Promise<void> {
  const stack = await startLocalStack({
    pushpinProfile: benchPushpinProfile(),
    ports: await freeStackPorts({ edge: via === 'edge' }),
    ...(via === 'edge' ? { edge: true } : {}),
    originEnv: { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
    logDir: mkdtempSync(join(tmpdir(), 'bench-delivery-')),
    echo: false,
    log: () => {},
  });
  try {
    const { latencies, tally, seconds } = await measureFleetDelivery({
      // Straight to Pushpin a client names the route itself; through the edge, the edge does.
      url: via === 'edge' ? stack.urls.edge! : stack.urls.pushpinProxy,
      ...(via === 'pushpin' ? { headers: { 'pushpin-route': 'origin' } } : {}),
      originUrl: stack.urls.origin,
      publishToken: TOKEN,
      channel: 'bench',
      transport: 'sse',
      subscribers,
      messages,
      rate,
      // Pushpin answers bursts of ~1000 simultaneous new GETs with some 502s.
      ramp: { batch: 50, pauseMs: 100 },
      drainMs: 10_000,
    });
    const path = via === 'edge' ? 'through the edge (local Compute host) and Pushpin' : 'straight to Pushpin';
    console.log(`SSE ${path}: subscribers=${subscribers} messages=${messages} rate=${rate}/s, publish via the origin`);
    console.log(
      `deliveries: expected=${tally.expected} received=${tally.delivered} lost=${tally.lost} duplicated=${tally.duplicated} ` +
        `(duplicates the proxy sent, dropped by the client: ${tally.duplicatesDropped}; reconnects ${tally.reconnects})`,
    );
    console.log(
      `latency ms: p50=${quantile(latencies, 0.5).toFixed(1)} p90=${quantile(latencies, 0.9).toFixed(1)} ` +
        `p99=${quantile(latencies, 0.99).toFixed(1)} max=${(latencies.at(-1) ?? NaN).toFixed(1)}`,
    );
    console.log(`throughput: ${(tally.delivered / seconds).toFixed(0)} deliveries/s over ${seconds.toFixed(1)} s`);
  } finally {
    await stack.stop();
  }
}
