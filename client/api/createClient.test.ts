// The driver around the machine, with injected runtime APIs that fail: a failure becomes a
// connection that did not open (retried with backoff), never an exception out of the client.
import { expect, it } from 'vitest';
import { createClient } from './createClient.ts';

it('takes a WebSocket constructor that throws as a connection that could not open, and retries', async () => {
  let attempts = 0;
  class Refusing {
    constructor() {
      attempts++;
      throw new SyntaxError('refused by the test');
    }
  }
  const client = createClient({ url: 'http://127.0.0.1:1', transport: 'websocket', WebSocket: Refusing, backoff: { baseMs: 1, maxMs: 5 } });
  const sub = client.subscribe('c');
  const recoveries: string[] = [];
  sub.on('recovering', (r) => recoveries.push(`${r.reason}: ${r.detail}`));
  for (const deadline = Date.now() + 2000; attempts < 3 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
  client.close();
  expect(attempts).toBeGreaterThanOrEqual(3);
  expect(recoveries[0]).toBe('cut: refused by the test');
  expect(sub.stats.connectFailures).toBeGreaterThanOrEqual(2);
  await expect(sub.ready).rejects.toMatchObject({ code: 'closed' });
});

it('says what a transport needs when the runtime lacks it', () => {
  expect(() => createClient({ url: 'http://x', transport: 'websocket', WebSocket: undefined })).toThrow(/needs a WebSocket constructor/);
  expect(() => createClient({ url: 'http://x', transport: 'sse', sse: 'eventsource', EventSource: undefined })).toThrow(/needs an EventSource constructor/);
  expect(() => createClient({ url: 'x' })).toThrow(/`url` must be an http\(s\) URL/);
});
