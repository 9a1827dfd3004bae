// The driver around the machine, with injected runtime APIs that fail: a failure becomes a
// connection that did not open (retried with backoff), never an exception out of the client. And the
// driver with `ws` against a WebSocket server on loopback that plays the origin, for what only a real
// socket shows: frames that arrive together with a gap, after the client has left that connection.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serverFrames, wsMessageFrame } from '../../protocol/index.ts';
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

it('on a gap, hands on nothing more that the left connection had already received, and resubscribes from its position', async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const message = (id: number, prev: number): string => wsMessageFrame({ id: String(id), channel: 'c', data: id, ts: 1 }, undefined, String(prev));
  const subscribes: Array<string | undefined> = [];
  server.on('connection', (socket) => {
    socket.on('message', (raw) => {
      const frame = JSON.parse(String(raw)) as { type: string; since?: string };
      if (frame.type !== 'subscribe') return;
      subscribes.push(frame.since);
      if (subscribes.length === 1) {
        // 11, then 13 naming 12 (dropped on the way), then more, sent together: the client reads 14
        // and 15 after it has left the connection on 13.
        for (const text of [serverFrames.subscribed('c', '10'), message(11, 10), message(13, 12), message(14, 13), message(15, 14)]) socket.send(text);
      } else {
        socket.send(serverFrames.subscribed('c', frame.since!));
        for (const id of [12, 13, 14, 15]) socket.send(message(id, id - 1));
      }
    });
  });
  const client = createClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, transport: 'websocket', WebSocket, backoff: { baseMs: 1, maxMs: 5 } });
  try {
    const sub = client.subscribe('c', { since: '10' });
    const ids: string[] = [];
    sub.on('message', (m) => ids.push(m.id!));
    for (const deadline = Date.now() + 5000; ids.length < 5 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    expect(subscribes).toEqual(['10', '11']);
    expect(ids).toEqual(['11', '12', '13', '14', '15']);
    expect(sub.stats).toMatchObject({ duplicates: 0, reconnects: 1, recoveries: { gap: 1 } });
  } finally {
    client.close();
    for (const socket of server.clients) socket.terminate();
    await new Promise((r) => server.close(r));
  }
});

it('opens SSE through an EventSource as a stream of channels, one for the channels subscribed together, asking no history first', async () => {
  const sources: Array<{ url: string; closed: boolean; emit(type: string, data: unknown): void; onopen: (() => void) | null }> = [];
  class FakeEventSource {
    readyState = 0;
    onopen: (() => void) | null = null;
    onmessage: ((event: { data: string }) => void) | null = null;
    onerror: (() => void) | null = null;
    listeners = new Map<string, (event: { data: string }) => void>();
    closed = false;
    constructor(readonly url: string) {
      sources.push(this as never);
    }
    addEventListener(type: string, listener: (event: { data: string }) => void): void {
      this.listeners.set(type, listener);
    }
    emit(type: string, data: unknown): void {
      this.listeners.get(type)?.({ data: JSON.stringify(data) });
    }
    close(): void {
      this.closed = true;
    }
  }
  const fetched: string[] = [];
  const fetch = async (url: string) => {
    fetched.push(url);
    return { status: 204, headers: { get: () => null }, body: null, json: async () => ({}), text: async () => '' };
  };
  const client = createClient({ url: 'http://service.test', transport: 'sse', EventSource: FakeEventSource, fetch, presenceLeases: false });
  try {
    const a = client.subscribe('a');
    await new Promise((r) => setTimeout(r, 10));
    expect(sources.map((s) => s.url)).toEqual(['http://service.test/events?channel=a']);
    sources[0]!.onopen?.();
    sources[0]!.emit('position', { channel: 'a', lastId: '42' });
    await a.ready;
    expect(a.position).toBe('42');
    const more = [client.subscribe('b', { since: '7' }), client.subscribe('c')];
    await new Promise((r) => setTimeout(r, 10));
    expect(sources[0]!.closed).toBe(true);
    expect(sources.map((s) => s.url)).toEqual(['http://service.test/events?channel=a', 'http://service.test/events?channel=a%3A42&channel=b%3A7&channel=c']);
    expect(more.map((s) => s.state)).toEqual(['connecting', 'connecting']);
    // Nothing asked the history where a channel stands: the stream says so.
    expect(fetched).toEqual([]);
  } finally {
    client.close();
  }
});
