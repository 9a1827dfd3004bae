// The compiled edge (bin/main.wasm) on the local Compute host, with the real Pushpin and origin:
// Fanout handoffs (SSE, WebSocket), cached forwarding, bodies streamed both ways, concurrency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSse } from './harness/sseClient.ts';
import { startTestStack, type TestStack } from './harness/testStack.ts';

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
