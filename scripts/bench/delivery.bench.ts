// Fan-out delivery: N SSE subscribers held by the real Pushpin, M messages published through the
// origin's /api/publish at a steady rate; prints latency quantiles (publish call -> event parsed at the
// subscriber), loss and duplicates. Knobs: BENCH_SUBSCRIBERS, BENCH_MESSAGES, BENCH_RATE (msg/s),
// BENCH_VIA=pushpin|edge|both (default both: straight to Pushpin's proxy port, and through the edge on
// the local Compute host, which hands the request off to Pushpin and pipes the stream back).
import { request, Agent, type IncomingMessage } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEdgeBuilt } from '../compute-host/edgeBuild.ts';
import { startLocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../stack/ports.ts';
import { benchInteger, benchPushpinProfile, quantile } from './benchEnv.ts';

const TOKEN = 'bench-publish-token';

interface Subscriber {
  seen: Set<number>;
  duplicates: number;
  response: IncomingMessage;
}

type Via = 'pushpin' | 'edge';

function viaList(): Via[] {
  const raw = process.env.BENCH_VIA ?? 'both';
  if (raw === 'both') return ['pushpin', 'edge'];
  if (raw === 'pushpin' || raw === 'edge') return [raw];
  throw new Error(`BENCH_VIA must be pushpin, edge or both, got "${raw}"`);
}

function subscribe(url: URL, latencies: number[], agent: Agent, via: Via): Promise<Subscriber> {
  // Straight to Pushpin a client names the route itself; through the edge, the edge does.
  const headers: Record<string, string> = { Accept: 'text/event-stream', ...(via === 'pushpin' ? { 'pushpin-route': 'origin' } : {}) };
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`subscriber got ${response.statusCode}`));
        response.resume();
        return;
      }
      const subscriber: Subscriber = { seen: new Set(), duplicates: 0, response };
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const dataLine = event.split('\n').find((line) => line.startsWith('data: '));
          if (!dataLine) continue;
          const envelope = JSON.parse(dataLine.slice(6)) as { data: { seq: number; sentAt: number } };
          latencies.push(performance.timeOrigin + performance.now() - envelope.data.sentAt);
          if (subscriber.seen.has(envelope.data.seq)) subscriber.duplicates++;
          subscriber.seen.add(envelope.data.seq);
        }
      });
      resolve(subscriber);
    });
    req.on('error', reject);
    req.end();
  });
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
    log: () => {},
  });
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const latencies: number[] = [];
  const clients: Subscriber[] = [];
  try {
    const url = new URL('/events/bench', via === 'edge' ? stack.urls.edge! : stack.urls.pushpinProxy);
    // Ramp: Pushpin answers bursts of ~1000 simultaneous new GETs with some 502s.
    for (let i = 0; i < subscribers; i += 50) {
      const batch = Array.from({ length: Math.min(50, subscribers - i) }, () => subscribe(url, latencies, agent, via));
      clients.push(...(await Promise.all(batch)));
    }
    await new Promise((r) => setTimeout(r, 500));
    const start = performance.now();
    for (let seq = 0; seq < messages; seq++) {
      const due = start + (seq * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const response = await fetch(`${stack.urls.origin}/api/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: 'bench', data: { seq, sentAt: performance.timeOrigin + performance.now() } }),
      });
      if (!response.ok) throw new Error(`publish ${seq} failed: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }
    const expected = subscribers * messages;
    const deadline = Date.now() + 10_000;
    while (latencies.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const elapsed = (performance.now() - start) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    const duplicates = clients.reduce((sum, c) => sum + c.duplicates, 0);
    const unique = clients.reduce((sum, c) => sum + c.seen.size, 0);
    const path = via === 'edge' ? 'through the edge (local Compute host) and Pushpin' : 'straight to Pushpin';
    console.log(`SSE ${path}: subscribers=${subscribers} messages=${messages} rate=${rate}/s, publish via the origin`);
    console.log(`deliveries: expected=${expected} received=${unique} lost=${expected - unique} duplicates=${duplicates}`);
    console.log(
      `latency ms: p50=${quantile(sorted, 0.5).toFixed(1)} p90=${quantile(sorted, 0.9).toFixed(1)} ` +
        `p99=${quantile(sorted, 0.99).toFixed(1)} max=${(sorted.at(-1) ?? NaN).toFixed(1)}`,
    );
    console.log(`throughput: ${(unique / elapsed).toFixed(0)} deliveries/s over ${elapsed.toFixed(1)} s`);
  } finally {
    for (const client of clients) client.response.destroy();
    agent.destroy();
    await stack.stop();
  }
}
