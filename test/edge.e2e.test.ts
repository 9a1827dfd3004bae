// The edge (bin/main.wasm in the local Compute host) in front of the real Pushpin and the real origin:
// realtime requests reach the origin through Fanout, the publish API goes through the cache path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSse } from './harness/sseClient.ts';
import { startTestStack, type TestStack } from './harness/testStack.ts';

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
