// Our stack's subscribers: fanout-forward clients (client/), one per simulated user, in a fleet
// (scripts/fleet), so every rule of the delivery guarantee (resume from the position, dedupe, the
// WebSocket gap rule, silence checks, backoff) is the client's own. The benchmark only reads the
// publish time each message carries (`data.sentAt`) when the client hands it on, and at the end counts
// the ids every client handed on (the fleet's id runs) against the ids the publisher was answered with.
import { Agent } from 'node:http';
import type { FetchLike, TransportName } from '../../../client/index.ts';
import { nodeHttpFetch } from '../../client/nodeHttpFetch.ts';
import { createFleet } from '../../fleet/fleet.ts';
import { emptyCount, recordDelivery, type DeliveryTally, type LedgerCount } from './deliveryLedger.ts';
import type { SubscriberTransport } from './fanoutOptions.ts';
import { emptyStats, type ClientKind, type ClientTarget, type GroupStats, type SubscriberGroup } from './subscriberGroup.ts';
import { wallClock } from './wallClock.ts';

const TRANSPORT_OF: Readonly<Record<SubscriberTransport, TransportName>> = { sse: 'sse', ws: 'websocket', stream: 'stream', poll: 'poll' };

/**
 * node:http for every request (Node's fetch costs more CPU per streamed message, client/README.md):
 * long-polls on keep-alive connections, as a browser reuses its connection for the next poll; each
 * stream on a connection of its own.
 */
function benchFetch(): FetchLike {
  const poll = nodeHttpFetch(new Agent({ keepAlive: true, maxSockets: Infinity }));
  const stream = nodeHttpFetch();
  return (url, init) => (url.includes('/poll/') ? poll : stream)(url, init);
}

export function startClientSubscribers(target: ClientTarget, tally: DeliveryTally): SubscriberGroup {
  const fleet = createFleet({
    url: target.baseUrl,
    headers: target.headers,
    client: { fetch: benchFetch() },
    // The client hands each message on once: its first arrival is the delivery whose latency counts.
    onMessage: (_member, message) => {
      const sentAt = (message.data as { sentAt?: unknown } | null)?.sentAt;
      if (typeof sentAt === 'number') recordDelivery(tally, sentAt, wallClock());
    },
  });
  return {
    add(kind: ClientKind) {
      if (kind === 'socketio') throw new Error('a Socket.IO subscriber in the group of our stack');
      return fleet.add({ transport: TRANSPORT_OF[kind], channel: target.channel, since: target.since }).ready;
    },
    count(published): LedgerCount {
      const ids = published.map(Number).sort((a, b) => a - b);
      const count = emptyCount();
      for (const member of fleet.members) {
        const got = member.ids.countIn(ids);
        count.received += got;
        count.lost += ids.length - got;
        count.duplicates += member.repeated;
        count.outOfOrder += member.outOfOrder;
        if (got < ids.length) count.subscribersWithLoss++;
      }
      return count;
    },
    stats(): GroupStats {
      const stats = emptyStats();
      for (const { stats: s } of fleet.members) {
        stats.reconnects += s.reconnects;
        stats.connectFailures += s.connectFailures;
        stats.resets += s.resets;
        stats.duplicatesDropped += s.duplicates;
      }
      return stats;
    },
    recoveries() {
      const sums: Record<string, number> = {};
      for (const member of fleet.members) {
        for (const [reason, n] of Object.entries(member.stats.recoveries)) sums[reason] = (sums[reason] ?? 0) + (n ?? 0);
      }
      return sums;
    },
    stop: () => fleet.close(),
  };
}
