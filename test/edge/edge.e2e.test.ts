// The edge (bin/main.wasm in the local Compute host) in front of the real Pushpin and the real origin:
// realtime requests reach the origin through Fanout, the publish API goes through the cache path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordNdjson } from '../harness/ndjsonClient.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { isProbe, recordWs, untilLive } from '../harness/wsClient.ts';

let stack: TestStack;
let edge: string;
beforeAll(async () => {
  stack = await startTestStack({ edge: true });
  edge = stack.urls.edge!;
});
afterAll(async () => {
  await stack?.stop();
});

const FORGED_PROXY_HEADERS = {
  'Grip-Sig': 'eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ2aWNlcm95In0.forged',
  'Pushpin-Route': 'nowhere',
  'Grip-Last': 'sse:news; last-id=999',
};

describe('realtime through the edge and Fanout (Pushpin)', () => {
  it('delivers SSE from GET /events/:channel', async () => {
    const client = recordSse(`${edge}/events/edge-sse`);
    try {
      await client.opened;
      const response = await stack.publish({ channel: 'edge-sse', data: { via: 'edge' } });
      expect(response.status).toBe(200);
      const { messages } = (await response.json()) as { messages: Array<{ id: string }> };
      const [event] = await client.waitFor(1);
      expect(event).toMatchObject({ id: messages[0]!.id, data: { channel: 'edge-sse', data: { via: 'edge' } } });
    } finally {
      client.close();
    }
  });

  it('still streams when the client sends forged proxy headers', async () => {
    // The edge removes them; edgeRouting.e2e.test.ts checks at the backend that they never arrive.
    const client = recordSse(`${edge}/events/edge-forged`, FORGED_PROXY_HEADERS);
    try {
      await client.opened;
      expect((await stack.publish({ channel: 'edge-forged', data: 1 })).status).toBe(200);
      expect((await client.waitFor(1))[0]!.data).toMatchObject({ channel: 'edge-forged', data: 1 });
    } finally {
      client.close();
    }
  });
  it('delivers WebSocket messages from /ws (the origin sees WebSocket-over-HTTP)', async () => {
    // recordWs also sends Pushpin-Route: origin, which the edge removes; the handoff sets its own.
    const ws = recordWs(edge);
    try {
      await ws.opened;
      ws.send({ type: 'subscribe', channel: 'edge-ws' });
      await ws.waitFor(1, (f) => f.type === 'subscribed');
      await untilLive(ws, 'edge-ws', stack.publish);
      const response = await stack.publish({ channel: 'edge-ws', data: { via: 'edge' } });
      const { messages } = (await response.json()) as { messages: Array<{ id: string }> };
      const [message] = await ws.waitFor(1, (f) => f.type === 'message' && !isProbe(f) && f.id === messages[0]!.id);
      expect(message).toMatchObject({ channel: 'edge-ws', data: { via: 'edge' } });
    } finally {
      ws.close();
    }
  });

  it('streams NDJSON from /stream/:channel', async () => {
    await stack.publish({ channel: 'edge-lines', data: 1 });
    const client = recordNdjson(`${edge}/stream/edge-lines?since=0`);
    try {
      expect((await client.opened).headers.get('content-type')).toMatch(/application\/x-ndjson/);
      await client.waitFor(1);
      await stack.publish({ channel: 'edge-lines', data: 2 });
      expect(await client.waitFor(2)).toMatchObject([{ data: 1 }, { data: 2 }]);
    } finally {
      client.close();
    }
  });

  it('answers a long-poll on /poll/:channel', async () => {
    await stack.publish({ channel: 'edge-poll', data: 'a' });
    const response = await fetch(`${edge}/poll/edge-poll?since=0`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-origin-backend')).toBeNull();
    expect(((await response.json()) as { messages: unknown[] }).messages).toMatchObject([{ channel: 'edge-poll', data: 'a' }]);
  });
});

describe('the cache path to the origin', () => {
  it('forwards POST /api/publish every time (never cached) and names the backend', async () => {
    const publish = () =>
      fetch(`${edge}/api/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${stack.publishToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: 'edge-post', data: 'x' }),
      });
    const first = await publish();
    const second = await publish();
    for (const response of [first, second]) {
      expect(response.status).toBe(200);
      expect(response.headers.get('x-origin-backend')).toBe('origin');
      expect(response.headers.get('x-cache')).not.toBe('HIT');
    }
    const ids = await Promise.all([first, second].map(async (r) => ((await r.json()) as { messages: Array<{ id: string }> }).messages[0]!.id));
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('answers an origin 404 with the origin body and x-origin-backend', async () => {
    const response = await fetch(`${edge}/no/such/page`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-origin-backend')).toBe('origin');
    expect(((await response.json()) as { error: string }).error).toBe('not_found');
  });
});
