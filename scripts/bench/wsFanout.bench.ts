// WebSocket fan-out through the real Pushpin: N fanout-forward clients (client/, a fleet) subscribe
// over /ws, messages are published through POST /api/publish, and the publish-to-delivery latency of
// every message is measured. Short (seconds) and on free ports. Prints numbers only. Knobs:
// BENCH_WS_CLIENTS (200), BENCH_WS_MESSAGES (50, 50 a second).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../shared/ports.ts';
import { benchInteger, benchPushpinProfile, quantile } from './benchEnv.ts';
import { measureFleetDelivery } from './fleetDelivery.ts';

const TOKEN = 'bench-publish-token';

export async function run(): Promise<void> {
  const clients = benchInteger('BENCH_WS_CLIENTS', 200, 1, 20_000);
  const messages = benchInteger('BENCH_WS_MESSAGES', 50, 1, 100_000);
  const stack = await startLocalStack({
    pushpinProfile: benchPushpinProfile(),
    ports: await freeStackPorts(),
    originEnv: { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
    logDir: mkdtempSync(join(tmpdir(), 'bench-ws-')),
    echo: false,
    log: () => {},
  });
  try {
    const { latencies, tally, seconds } = await measureFleetDelivery({
      url: stack.urls.pushpinProxy,
      headers: { 'pushpin-route': 'origin' },
      originUrl: stack.urls.origin,
      publishToken: TOKEN,
      channel: 'bench',
      transport: 'websocket',
      subscribers: clients,
      messages,
      rate: 50,
      // At most ~40 new WebSockets a second: faster made Pushpin answer some 502 here.
      ramp: { batch: 20, pauseMs: 500 },
      drainMs: 5000,
    });
    console.log(
      `ws fan-out: clients=${clients} messages=${messages} delivered=${tally.delivered}/${tally.expected} lost=${tally.lost} duplicated=${tally.duplicated} ` +
        `p50=${quantile(latencies, 0.5).toFixed(1)}ms p99=${quantile(latencies, 0.99).toFixed(1)}ms ` +
        `max=${(latencies.at(-1) ?? NaN).toFixed(1)}ms deliveries/s=${(tally.delivered / seconds).toFixed(0)}` +
        `; client recoveries ${JSON.stringify(tally.recoveries)}, duplicates dropped ${tally.duplicatesDropped}`,
    );
  } finally {
    await stack.stop();
  }
}
