// The compiled edge (bin/main.wasm) on the local Compute host, with the real Pushpin and origin:
// Fanout handoffs (SSE, WebSocket), cached forwarding, bodies streamed both ways, concurrency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHostTestBackend, type HostTestBackend } from '../harness/hostTestBackend.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ edge: true });
});
afterAll(async () => {
  await stack?.stop();
});

describe('Fanout handoff through the edge', () => {
  it('hands /events/ to Pushpin, which holds it at the origin; a published message arrives', async () => {
    const client = recordSse(`${stack.urls.edge}/events/edge-news`);
    try {
      await client.opened;
      const response = await stack.publish({ channel: 'edge-news', data: { headline: 'through the edge' } });
      expect(response.status).toBe(200);
      const [event] = await client.waitFor(1);
      expect(event!.data).toMatchObject({ channel: 'edge-news', data: { headline: 'through the edge' } });
    } finally {
      client.close();
    }
  });
});

describe('SSE and WebSocket through the edge to the real origin', () => {
  it('delivers one published message to an SSE client and a WebSocket client; ping round-trips', async () => {
    const sse = recordSse(`${stack.urls.edge}/events/both`);
    const socket = new WebSocket(`${stack.urls.edge!.replace('http', 'ws')}/ws`);
    const frames: Array<{ type: string; [key: string]: unknown }> = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as { type: string }));
    const frame = async (type: string): Promise<{ type: string; [key: string]: unknown }> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = frames.find((f) => f.type === type);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no ${type} frame; got ${JSON.stringify(frames)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      socket.send(JSON.stringify({ type: 'ping' }));
      await frame('pong');
      socket.send(JSON.stringify({ type: 'subscribe', channel: 'both' }));
      await frame('subscribed');
      await sse.opened;
      const published = await stack.publish({ channel: 'both', data: { n: 1 } });
      expect(published.status).toBe(200);
      const [event] = await sse.waitFor(1);
      expect(event!.data).toMatchObject({ channel: 'both', data: { n: 1 } });
      expect(await frame('message')).toMatchObject({ channel: 'both', data: { n: 1 }, id: event!.id });
    } finally {
      sse.close();
      socket.close();
    }
  });
});

describe('the edge forwarding to a backend (the origin backend is a test server here)', () => {
  let backend: HostTestBackend;
  let edgeStack: TestStack;
  let edge: string;
  beforeAll(async () => {
    backend = await startHostTestBackend();
    edgeStack = await startTestStack({ edge: true, backends: { origin: backend.url } });
    edge = edgeStack.urls.edge!;
  });
  afterAll(async () => {
    await edgeStack?.stop();
    await backend?.stop();
  });

  it('answers a cacheable GET from the readthrough cache the second time', async () => {
    const first = await fetch(`${edge}/page?x=1`);
    const second = await fetch(`${edge}/page?x=1`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(await second.text()).toBe(await first.text());
    expect(backend.hits('/page')).toBe(1);
  });

  it('answers HEAD with the length a GET has, from the cache too', async () => {
    const get = await fetch(`${edge}/sized`);
    const length = get.headers.get('content-length');
    expect(Number(length)).toBe((await get.text()).length);
    const head = await fetch(`${edge}/sized`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-cache')).toBe('HIT');
    expect(head.headers.get('content-length')).toBe(length);
    expect(backend.hits('/sized')).toBe(1);
  });

  it('honours Cache-Control: s-maxage over max-age, and never stores private', async () => {
    await fetch(`${edge}/shared`);
    expect((await fetch(`${edge}/shared`)).headers.get('x-cache')).toBe('HIT');
    expect(backend.hits('/shared')).toBe(1);
    await fetch(`${edge}/private`);
    const again = await fetch(`${edge}/private`);
    expect(again.headers.get('x-cache')).toBe('MISS');
    expect(await again.text()).toBe('private 2');
  });

  it('serves a stale entry within stale-while-revalidate while refreshing it once in the background', async () => {
    const first = await fetch(`${edge}/swr`);
    expect([first.headers.get('x-cache'), await first.text()]).toEqual(['MISS', 'swr 1']);
    await new Promise((r) => setTimeout(r, 1200));
    const stale = await fetch(`${edge}/swr`);
    expect([stale.headers.get('x-cache'), await stale.text()]).toEqual(['HIT-STALE', 'swr 1']);
    // The refresh is stored once its response is complete; until then the stale copy is served.
    const deadline = Date.now() + 10_000;
    let refreshed = { cache: '', body: '' };
    while (refreshed.body !== 'swr 2' && Date.now() < deadline) {
      const response = await fetch(`${edge}/swr`);
      refreshed = { cache: response.headers.get('x-cache') ?? '', body: await response.text() };
    }
    expect(refreshed.body).toBe('swr 2');
    expect(refreshed.cache).toMatch(/^HIT/);
    expect(backend.hits('/swr')).toBeGreaterThanOrEqual(2);
  });

  it('passes a POST (never cached) with its body', async () => {
    const post = (): Promise<Response> => fetch(`${edge}/echo`, { method: 'POST', body: 'hello body' });
    const first = (await (await post()).json()) as { method: string; body: string; count: number };
    const second = (await (await post()).json()) as { count: number };
    expect(first).toMatchObject({ method: 'POST', body: 'hello body' });
    expect(second.count).toBe(first.count + 1);
  });

  it('streams a request body to the backend while the client is still sending', async () => {
    let sendRest!: () => void;
    const rest = new Promise<void>((resolve) => (sendRest = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(1000).fill(97));
        await rest;
        controller.enqueue(new Uint8Array(500).fill(98));
        controller.close();
      },
    });
    const response = fetch(`${edge}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    // Only a streaming host delivers the first part before the client sent the rest.
    await backend.uploadStarted;
    sendRest();
    expect(await (await response).json()).toEqual({ received: 1500 });
  });

  it('streams a backend response to the client as it is produced (SSE without a handoff)', async () => {
    const response = await fetch(`${edge}/stream`);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('data: first');
    backend.releaseStream();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('data: second');
  });

  it('completes 200 concurrent requests', async () => {
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => fetch(`${edge}/concurrent/${i}`).then(async (r) => ({ status: r.status, text: await r.text() }))),
    );
    expect(responses.filter((r) => r.status !== 200)).toEqual([]);
    expect(responses.map((r) => r.text)).toEqual(Array.from({ length: 200 }, (_, i) => `/concurrent/${i} 1`));
  });

  it('hands a WebSocket to Pushpin: 101, frames round-trip, and a published message arrives', async () => {
    const socket = new WebSocket(`${edge.replace('http', 'ws')}/ws`);
    const received: string[] = [];
    const waiters = new Set<() => void>();
    socket.on('message', (data) => {
      received.push(data.toString());
      for (const wake of waiters) wake();
    });
    const waitFor = async (predicate: () => boolean): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(received)}`);
        await new Promise<void>((resolve) => {
          waiters.add(resolve);
          setTimeout(resolve, 200);
        });
      }
    };
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      socket.send('ping-1');
      await waitFor(() => received.includes('echo:ping-1'));
      const publish = await fetch(`${edgeStack.urls.pushpinPublish}/publish/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ channel: 'ws-test', formats: { 'ws-message': { content: 'published-to-ws' } } }] }),
      });
      expect(publish.status).toBe(200);
      await waitFor(() => received.includes('published-to-ws'));
    } finally {
      socket.close();
    }
  });
});
