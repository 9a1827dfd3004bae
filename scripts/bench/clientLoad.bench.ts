// `npm run bench -- clientLoad`: many fanout-forward clients in one Node process (as the soak and the
// benchmarks will run them), one transport at a time, straight to the local Pushpin: what each costs
// this process in CPU per delivered message and in memory, and that every message arrived once.
// Knobs: BENCH_CLIENTS (200 per transport), BENCH_MESSAGES (50, published 10 a second),
// BENCH_FETCH (`node-http`, the default: scripts/client/nodeHttpFetch.ts; `global`: Node's fetch).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createClient, type FanoutClient, type Subscription, type TransportName } from '../../client/index.ts';
import { nodeHttpFetch } from '../client/nodeHttpFetch.ts';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../shared/ports.ts';
import { benchInteger } from './benchEnv.ts';

const TOKEN = 'bench-publish-token';

export async function run(): Promise<void> {
  const clientsPerTransport = benchInteger('BENCH_CLIENTS', 200, 1, 20_000);
  const messages = benchInteger('BENCH_MESSAGES', 50, 1, 100_000);
  const fetchName = process.env.BENCH_FETCH ?? 'node-http';
  if (fetchName !== 'node-http' && fetchName !== 'global') throw new Error('BENCH_FETCH must be node-http or global');
  const stack = await startLocalStack({
    ports: await freeStackPorts(),
    originEnv: { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
    logDir: mkdtempSync(join(tmpdir(), 'bench-client-load-')),
    echo: false,
    log: () => {},
  });
  const publish = async (channel: string, n: number): Promise<void> => {
    const response = await fetch(`${stack.urls.origin}/api/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel, data: { n, pad: 'x'.repeat(100) } }),
    });
    if (!response.ok) throw new Error(`publish answered ${response.status}`);
  };
  try {
    console.log(`${clientsPerTransport} clients per transport, ${messages} messages at 10/s, one channel, straight to Pushpin, fetch: ${fetchName}`);
    for (const transport of ['websocket', 'sse', 'stream', 'poll'] as TransportName[]) {
      const channel = `load-${transport}`;
      const clients: FanoutClient[] = [];
      const subsOf: Subscription[] = [];
      let delivered = 0;
      const rssBefore = process.memoryUsage().rss;
      for (let i = 0; i < clientsPerTransport; i++) {
        const client = createClient({
          url: stack.urls.pushpinProxy,
          headers: { 'pushpin-route': 'origin' },
          WebSocket,
          webSocketOptions: { perMessageDeflate: false },
          // The client's own cost per message is measured, not presence's.
          presenceLeases: false,
          ...(fetchName === 'node-http' ? { fetch: nodeHttpFetch() } : {}),
          transport,
        });
        const sub = client.subscribe(channel);
        sub.on('message', () => delivered++);
        subsOf.push(sub);
        clients.push(client);
        // Ramped: a burst of new requests makes Pushpin 1.36 answer some 502 (see FACTS.md).
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 100));
      }
      const subs = clients.flatMap((c) => c.testing.connections()).length;
      await new Promise((r) => setTimeout(r, 1500));
      const started = Date.now();
      const cpu = process.cpuUsage();
      for (let n = 0; n < messages; n++) {
        await publish(channel, n);
        await new Promise((r) => setTimeout(r, 100));
      }
      const expected = clientsPerTransport * messages;
      for (const deadline = Date.now() + 60_000; delivered < expected && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
      const used = process.cpuUsage(cpu);
      const rssAfter = process.memoryUsage().rss;
      const duplicates = subsOf.reduce((sum, sub) => sum + sub.stats.duplicates, 0);
      for (const client of clients) client.close();
      console.log(
        `${transport.padEnd(9)} ${delivered}/${expected} delivered in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
          `client CPU ${(((used.user + used.system) / Math.max(delivered, 1)) | 0)} us per delivery; ` +
          `RSS +${((rssAfter - rssBefore) / 1024 / 1024).toFixed(0)} MB (${(((rssAfter - rssBefore) / Math.max(subs, 1) / 1024) | 0)} KB per connection)` +
          `; duplicates dropped ${duplicates}`,
      );
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await stack.stop();
  }
}
