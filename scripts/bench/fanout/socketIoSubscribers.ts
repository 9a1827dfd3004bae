// The comparison's subscribers: socket.io-client 4 against the benchmark's Socket.IO server
// (socketIoServer.ts). WebSocket from the start (no long-polling upgrade), one connection per client,
// reconnecting by itself; on every (re)connect it subscribes from its last id and the server replays
// what it missed. Every message is checked in by id (deliveryLedger.ts).
import { io as socketIo, type Socket } from 'socket.io-client';
import { arrived, countAgainst, newLedger, type DeliveryLedger, type DeliveryTally } from './deliveryLedger.ts';
import { emptyStats, type ClientKind, type ClientTarget, type SubscriberGroup } from './subscriberGroup.ts';
import { wallClock } from './wallClock.ts';

/** socket.io-client's reconnection delay (and twice that at most). */
const RETRY_MS = 1000;

interface Envelope {
  id?: string;
  data?: { sentAt?: number };
}

export function startSocketIoSubscribers(target: ClientTarget, tally: DeliveryTally): SubscriberGroup {
  const ledgers: DeliveryLedger[] = [];
  const sockets: Socket[] = [];
  const stats = emptyStats();
  return {
    add(kind: ClientKind) {
      if (kind !== 'socketio') throw new Error(`a ${kind} subscriber in the Socket.IO group`);
      const ledger = newLedger(target.since);
      ledgers.push(ledger);
      const socket: Socket = socketIo(target.baseUrl, { transports: ['websocket'], forceNew: true, reconnectionDelay: RETRY_MS, reconnectionDelayMax: 2 * RETRY_MS });
      sockets.push(socket);
      let connectedBefore = false;
      socket.on('connect_error', () => stats.connectFailures++);
      socket.on('message', (envelope: Envelope) => {
        if (typeof envelope.id !== 'string' || typeof envelope.data?.sentAt !== 'number') return;
        arrived(ledger, tally, envelope.id, envelope.data.sentAt, wallClock());
      });
      return new Promise<void>((resolve) => {
        socket.on('connect', () => {
          if (connectedBefore) stats.reconnects++;
          connectedBefore = true;
          socket.emit('subscribe', { channel: target.channel, since: ledger.lastId ?? target.since }, () => resolve());
        });
      });
    },
    count: (published) => countAgainst(ledgers, published),
    stats: () => ({ ...stats }),
    recoveries: () => ({}),
    stop() {
      for (const socket of sockets) socket.disconnect();
    },
  };
}
