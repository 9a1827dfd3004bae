// The Socket.IO 4 chat server the chat benchmark compares against: what a team would write instead of
// a GRIP origin behind Fanout. Clients join rooms (`subscribe`, with the last id they have: the server
// replays what they missed, so its clients get the same guarantee as ours), and post to a room by
// emitting `publish`: the server numbers the message, keeps the last ones per room in memory, relays
// it to the room and answers the sender with the id. A real relay: the benchmark's process never
// broadcasts.
//
//   node --import tsx scripts/bench/chat/socketIoChatServer.ts --port N [--history N]
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';

const { values } = parseArgs({ options: { port: { type: 'string' }, history: { type: 'string' } } });
const port = Number(values.port);
const historyLimit = Number(values.history ?? 1000);
if (!Number.isInteger(port) || port < 1 || port > 65535 || !Number.isInteger(historyLimit) || historyLimit < 1) {
  console.error('usage: socketIoChatServer.ts --port 1-65535 [--history N]');
  process.exit(2);
}

interface Envelope {
  id: string;
  channel: string;
  data: unknown;
  ts: number;
}

interface Room {
  next: number;
  messages: Envelope[];
}

const rooms = new Map<string, Room>();
const ROOM_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

function roomOf(name: string): Room {
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = { next: 1, messages: [] }));
  return room;
}

const http = createServer((_req, res) => res.writeHead(404).end());
// WebSocket only, as the benchmark's clients connect.
const io = new Server(http, { transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  socket.on('subscribe', (request: { channel?: unknown; since?: unknown }, ack?: (answer: { lastId: string }) => void) => {
    if (typeof request?.channel !== 'string' || !ROOM_NAME.test(request.channel)) return;
    const room = roomOf(request.channel);
    void socket.join(request.channel);
    // Joined first, then the replay: a message relayed meanwhile may come twice (the client drops it by id), never not at all.
    const since = typeof request.since === 'string' ? Number(request.since) : 0;
    for (const message of room.messages) if (Number(message.id) > since) socket.emit('message', message);
    ack?.({ lastId: String(room.next - 1) });
  });
  socket.on('publish', (request: { channel?: unknown; data?: unknown }, ack?: (answer: { id?: string; error?: string }) => void) => {
    if (typeof request?.channel !== 'string' || !ROOM_NAME.test(request.channel)) return ack?.({ error: 'invalid_channel' });
    const room = roomOf(request.channel);
    const message: Envelope = { id: String(room.next++), channel: request.channel, data: request.data, ts: Date.now() };
    room.messages.push(message);
    if (room.messages.length > historyLimit) room.messages.shift();
    io.to(request.channel).emit('message', message);
    ack?.({ id: message.id });
  });
});

http.listen(port, '127.0.0.1', () => console.log(`socket.io chat server listening on http://127.0.0.1:${port}`));
for (const name of ['SIGTERM', 'SIGINT'] as const) {
  process.on(name, () => {
    void io.close();
    process.exit(0);
  });
}
