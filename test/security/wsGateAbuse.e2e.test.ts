// A WebSocket client cannot hold a channel's appends for everyone else. A subscribe that falls behind
// a busy channel round after round asks the history to hold the channel's appends for one round (a
// gate); a client can provoke that on purpose by answering its barrier pings slowly, and resubscribing
// over and over. Gates are bounded per channel (one per ttl + cooldown, whoever asks), and barrier
// pongs it was never sent (forged payloads) count for nothing. Through the real Pushpin, with a real
// publisher: the gates stay within the bound and every publish is accepted.
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function gateCounts(): Promise<Record<string, number>> {
  const text = await (await fetch(`${stack.urls.origin}/metrics`, { headers: { Authorization: `Bearer ${stack.publishToken}` } })).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^origin_ws_append_gates_total\{outcome="(\w+)"\} (\d+)$/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

it('a client answering its barriers slowly and resubscribing for 10 s gets at most 2 gates; forged pongs do nothing; every publish goes through', async () => {
  const channel = 'gate-abuse';
  const durationMs = 10_000;
  // The publisher: one message every 100 ms, each timed.
  const latencies: number[] = [];
  let failures = 0;
  let publishing = true;
  const publisher = (async () => {
    while (publishing) {
      const started = performance.now();
      const response = await stack.publish({ channel, data: { at: Date.now() } });
      await response.arrayBuffer();
      if (response.status === 200) latencies.push(performance.now() - started);
      else failures++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // The abuser: pongs its barriers 250 ms late (each round then finds new appends), sprays forged
  // barrier pongs, and subscribes again every 1.5 s.
  const socket = new WebSocket(`${stack.urls.pushpinProxy.replace(/^http/, 'ws')}/ws`, { headers: { 'pushpin-route': 'origin' }, autoPong: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let subscribes = 0;
  const subscribe = () => {
    subscribes++;
    socket.send(JSON.stringify({ type: 'subscribe', channel, since: '0' }));
  };
  socket.on('ping', (payload: Buffer) => {
    for (let n = 1; n <= 20; n++) socket.pong(`ffsub:${n}`);
    setTimeout(() => socket.readyState === WebSocket.OPEN && socket.pong(payload), 250);
  });
  const before = await gateCounts();
  subscribe();
  // Every 1.5 s, start over: a slow subscribe on a busy channel reaches its gate within that.
  const again = setInterval(() => {
    socket.send(JSON.stringify({ type: 'unsubscribe', channel }));
    subscribe();
  }, 1500);
  await new Promise((r) => setTimeout(r, durationMs));
  clearInterval(again);
  publishing = false;
  await publisher;
  socket.close();
  const after = await gateCounts();
  const gated = (after.gated ?? 0) - (before.gated ?? 0);
  latencies.sort((a, b) => a - b);
  const p90 = latencies[Math.floor(latencies.length * 0.9)] ?? 0;
  console.log(
    `gate abuse: ${subscribes} subscribes, gates ${gated} (joined ${(after.joined ?? 0) - (before.joined ?? 0)}, refused ${(after.cooling ?? 0) - (before.cooling ?? 0)}); ` +
      `publisher ${latencies.length} accepted, ${failures} failed, p90 ${p90.toFixed(0)} ms, max ${(latencies.at(-1) ?? 0).toFixed(0)} ms`,
  );
  expect(failures).toBe(0);
  expect(subscribes).toBeGreaterThan(1);
  // One gate per 10 s (1 s + 9 s cooldown), counted from the first: at most 2 in a 10 s window.
  expect(gated).toBeLessThanOrEqual(2);
}, 60_000);

it('connections that subscribe and never answer their barriers cannot lock a channel for others', async () => {
  const channel = 'slot-abuse';
  const url = `${stack.urls.pushpinProxy.replace(/^http/, 'ws')}/ws`;
  // 200 subscribes in progress fill the channel's slots (DEFAULT_SUBSCRIBE_LIMITS.maxConcurrentSubscribes).
  // Opened 20 at a time: Pushpin 1.36 answers 502 when more than 100 requests wait for zurl.
  const squatters: WebSocket[] = [];
  const busy: number[] = [];
  try {
    for (let batch = 0; batch < 10; batch++) {
      const opened = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const socket = new WebSocket(url, { headers: { 'pushpin-route': 'origin' }, autoPong: false });
          socket.on('message', (data) => String(data).includes('subscribe_busy') && busy.push(1));
          await new Promise<void>((resolve, reject) => {
            socket.once('open', () => resolve());
            socket.once('error', reject);
          });
          socket.send(JSON.stringify({ type: 'subscribe', channel }));
          return socket;
        }),
      );
      squatters.push(...opened);
    }
    expect(busy).toEqual([]);
    // Past the stale time (3 s) with no progress, a newcomer's subscribe gets in (it was refused
    // subscribe_busy until the squatters' subscribes timed out, 15 s, and they could start over).
    await new Promise((r) => setTimeout(r, 3500));
    const honest = new WebSocket(url, { headers: { 'pushpin-route': 'origin' } });
    const frames: Array<{ type: string; code?: string }> = [];
    honest.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise<void>((resolve) => honest.once('open', () => resolve()));
    honest.send(JSON.stringify({ type: 'subscribe', channel }));
    const deadline = Date.now() + 10_000;
    while (!frames.some((f) => f.type === 'subscribed' || f.type === 'error') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(frames.find((f) => f.type === 'subscribed' || f.type === 'error')).toMatchObject({ type: 'subscribed' });
    honest.close();
  } finally {
    for (const socket of squatters) socket.terminate();
  }
}, 60_000);
