// One Socket.IO subscriber of the chat benchmark: a socket.io-client socket (WebSocket only, its own
// connection, reconnecting by itself) that joins its room with its last id on every (re)connect, so
// the server replays what it missed, as a chat client written for Socket.IO would. It keeps the same
// record as a fleet member (ids as runs, repeats, out of order), so one tally counts both systems.
import { io, type Socket } from 'socket.io-client';
import type { SubscriptionStats } from '../../../client/index.ts';
import type { TalliedMember } from '../../fleet/deliveryTally.ts';
import { IdRuns } from '../../fleet/idRuns.ts';

export interface SocketIoMember extends TalliedMember {
  close(): void;
}

interface Envelope {
  id?: unknown;
  data?: unknown;
}

export function createSocketIoMember(options: { url: string; channel: string; since: string; onFirstArrival(data: unknown): void }): SocketIoMember {
  const ids = new IdRuns();
  const stats: SubscriptionStats = { messages: 0, duplicates: 0, resets: 0, reconnects: 0, connectFailures: 0, recoveries: {} };
  const history: string[] = [];
  const repeated = 0;
  let outOfOrder = 0;
  let live = false;
  let connectedBefore = false;
  const socket: Socket = io(options.url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 3000 });
  socket.on('connect', () => {
    if (connectedBefore) {
      stats.reconnects++;
      stats.recoveries.cut = (stats.recoveries.cut ?? 0) + 1;
    }
    connectedBefore = true;
    const since = ids.last !== undefined ? String(ids.last) : options.since;
    socket.emit('subscribe', { channel: options.channel, since }, () => (live = true));
  });
  socket.on('disconnect', (reason) => {
    live = false;
    history.push(`disconnect ${reason}`);
    if (history.length > 12) history.shift();
  });
  socket.on('connect_error', () => stats.connectFailures++);
  socket.on('message', (envelope: Envelope) => {
    if (typeof envelope?.id !== 'string') return;
    stats.messages++;
    const arrival = ids.add(Number(envelope.id));
    if (arrival === 'repeat') {
      // A replay after a reconnect may bring what already came live: the client drops it by id.
      stats.duplicates++;
      return;
    }
    if (arrival === 'out-of-order') outOfOrder++;
    options.onFirstArrival(envelope.data);
  });
  return {
    transport: 'websocket',
    channel: options.channel,
    ids,
    get repeated() {
      return repeated;
    },
    get outOfOrder() {
      return outOfOrder;
    },
    stats,
    get position() {
      return ids.last !== undefined ? String(ids.last) : undefined;
    },
    get live() {
      return live;
    },
    history,
    close() {
      socket.disconnect();
    },
  };
}
