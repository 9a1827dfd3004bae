// WebSocket fan-out through the real Pushpin: N clients subscribe over the /ws JSON protocol, messages
// are published through POST /api/publish, and the publish-to-receive latency of every delivery is
// measured. Short (seconds) and on free ports. Prints numbers only.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../stack/ports.ts';
import { benchPushpinProfile } from './benchEnv.ts';

const CLIENTS = Number(process.env.BENCH_WS_CLIENTS ?? 200);
const MESSAGES = Number(process.env.BENCH_WS_MESSAGES ?? 50);
const INTERVAL_MS = 20;
const TOKEN = 'bench-publish-token';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function run(): Promise<void> {
  const stack = await startLocalStack({
    pushpinProfile: benchPushpinProfile(),
    ports: await freeStackPorts(),
    originEnv: { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
    logDir: mkdtempSync(join(tmpdir(), 'bench-ws-')),
    echo: false,
    log: () => {},
  });
  const sockets: WebSocket[] = [];
  const latencies: number[] = [];
  try {
    const sentAt = new Map<string, number>();
    // Ramp connections in small groups (a burst of new connections overwhelms the proxy).
    for (let n = 0; n < CLIENTS; n += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, CLIENTS - n) }, () => {
          const ws = new WebSocket(`${stack.urls.pushpinProxy.replace('http', 'ws')}/ws`, { headers: { 'pushpin-route': 'origin' } });
          sockets.push(ws);
          ws.on('message', (data) => {
            const frame = JSON.parse(data.toString()) as { type: string; data?: { seq?: string } };
            const sent = frame.type === 'message' && frame.data?.seq ? sentAt.get(frame.data.seq) : undefined;
            if (sent !== undefined) latencies.push(performance.now() - sent);
          });
          return new Promise<void>((resolve, reject) => {
            ws.once('error', reject);
            ws.once('open', () => {
              ws.send(JSON.stringify({ type: 'subscribe', channel: 'bench' }));
              ws.once('message', () => resolve());
            });
          });
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 500)); // let the proxy apply the last subscriptions
    const publishStart = performance.now();
    for (let n = 0; n < MESSAGES; n++) {
      const seq = String(n);
      sentAt.set(seq, performance.now());
      await fetch(`${stack.urls.origin}/api/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: 'bench', data: { seq } }),
      });
      await new Promise((r) => setTimeout(r, INTERVAL_MS));
    }
    const deadline = Date.now() + 5000;
    while (latencies.length < CLIENTS * MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const elapsed = (performance.now() - publishStart) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(
      `ws fan-out: clients=${CLIENTS} messages=${MESSAGES} delivered=${latencies.length}/${CLIENTS * MESSAGES} ` +
        `p50=${percentile(latencies, 50).toFixed(1)}ms p99=${percentile(latencies, 99).toFixed(1)}ms ` +
        `max=${(latencies.at(-1) ?? NaN).toFixed(1)}ms deliveries/s=${(latencies.length / elapsed).toFixed(0)}`,
    );
  } finally {
    for (const ws of sockets) ws.terminate();
    await stack.stop();
  }
}
