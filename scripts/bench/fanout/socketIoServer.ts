// The Socket.IO 4 server the fan-out benchmark compares against: what a team would write instead of a
// GRIP origin behind Fanout. It holds every client itself, numbers each published message, keeps the
// last messages per channel in memory, and replays from a client's `since` when it (re)subscribes, so
// its clients get the same guarantee as ours (nothing lost across a reconnect). Publishing is an HTTP
// POST with a bearer token, like the origin's /api/publish.
//
//   node --import tsx scripts/bench/fanout/socketIoServer.ts --port N --token T
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';

const { values } = parseArgs({ options: { port: { type: 'string' }, token: { type: 'string' }, history: { type: 'string' } } });
const port = Number(values.port);
const token = values.token ?? '';
const historyLimit = Number(values.history ?? 1000);
if (!Number.isInteger(port) || port < 1 || port > 65535 || token.length < 8 || !Number.isInteger(historyLimit) || historyLimit < 1) {
  console.error('usage: socketIoServer.ts --port 1-65535 --token <at least 8 characters> [--history N]');
  process.exit(2);
}

interface Envelope {
  id: string;
  channel: string;
  data: unknown;
  ts: number;
}

const histories = new Map<string, { next: number; messages: Envelope[] }>();
const CHANNEL = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

function historyOf(channel: string): { next: number; messages: Envelope[] } {
  let h = histories.get(channel);
  if (!h) histories.set(channel, (h = { next: 1, messages: [] }));
  return h;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 65536) throw new Error('body over 64 KiB');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const http = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/publish') return answer(res, 404, { error: 'not_found' });
  if (req.headers.authorization !== `Bearer ${token}`) return answer(res, 401, { error: 'unauthorized' });
  readJson(req).then(
    (body) => {
      const { channel, data } = (body ?? {}) as { channel?: unknown; data?: unknown };
      if (typeof channel !== 'string' || !CHANNEL.test(channel)) return answer(res, 400, { error: 'invalid_channel' });
      const h = historyOf(channel);
      const message: Envelope = { id: String(h.next++), channel, data, ts: Date.now() };
      h.messages.push(message);
      if (h.messages.length > historyLimit) h.messages.shift();
      io.to(channel).emit('message', message);
      answer(res, 200, { messages: [{ id: message.id, channel, ts: message.ts }] });
    },
    (error: Error) => answer(res, 400, { error: 'invalid_body', message: error.message }),
  );
});

// No long-polling: the benchmark's clients connect with WebSocket only, as ours do.
const io = new Server(http, { transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  socket.on('subscribe', (request: { channel?: unknown; since?: unknown }, ack?: () => void) => {
    if (typeof request?.channel !== 'string' || !CHANNEL.test(request.channel)) return;
    const channel = request.channel;
    void socket.join(channel);
    // Joined first, then the replay: a message published meanwhile may come twice, never not at all
    // (the client drops what it has by id).
    const since = typeof request.since === 'string' ? Number(request.since) : 0;
    for (const message of historyOf(channel).messages) if (Number(message.id) > since) socket.emit('message', message);
    ack?.();
  });
});

http.listen(port, '127.0.0.1', () => console.log(`socket.io server listening on http://127.0.0.1:${port}`));
for (const name of ['SIGTERM', 'SIGINT'] as const) {
  process.on(name, () => {
    void io.close();
    process.exit(0);
  });
}
