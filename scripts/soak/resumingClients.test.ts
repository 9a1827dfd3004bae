// The resuming WebSocket client against a real WebSocket server that plays the origin: a message whose
// `prev` is not the client's position means something was dropped, so the client must leave that
// connection and subscribe again from its last id, ignoring whatever else the connection still delivers.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { wsClient, type ResumingClient } from './resumingClients.ts';

let server: WebSocketServer | undefined;
let client: ResumingClient | undefined;
afterEach(async () => {
  client?.close();
  await new Promise((r) => server?.close(r));
});

const message = (id: number, prev: number) => JSON.stringify({ type: 'message', prev: String(prev), id: String(id), channel: 'c', data: id, ts: 1 });

it('leaves a connection on a gap and subscribes again from its last id, recording nothing that came after the gap', async () => {
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const subscribes: Array<string | undefined> = [];
  server.on('connection', (socket) => {
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { type: string; since?: string };
      if (frame.type !== 'subscribe') return;
      subscribes.push(frame.since);
      if (subscribes.length === 1) {
        socket.send(JSON.stringify({ type: 'subscribed', channel: 'c', lastId: '10' }));
        // 11, then 13 (12 was dropped on the way), then more on the same connection, all at once.
        for (const frameText of [message(11, 10), message(13, 12), message(14, 13), message(15, 14)]) socket.send(frameText);
      } else {
        socket.send(JSON.stringify({ type: 'subscribed', channel: 'c', lastId: frame.since }));
        for (const id of [12, 13, 14, 15]) socket.send(message(id, id - 1));
      }
    });
  });
  const port = (server.address() as AddressInfo).port;
  client = wsClient({ baseUrl: `http://127.0.0.1:${port}`, channel: 'c', since: '10' });
  const deadline = Date.now() + 10_000;
  while (client.ids.size < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(subscribes).toEqual(['10', '11']);
  expect([...client.ids].sort()).toEqual([11, 12, 13, 14, 15]);
  expect(client.duplicates).toBe(0);
  expect(client.unstuck).toBe(1);
});
