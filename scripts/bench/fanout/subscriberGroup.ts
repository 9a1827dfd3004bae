// What a load process holds: a group of subscribers of one system, our stack's (fanout-forward
// clients: clientSubscribers.ts) or Socket.IO's (socket.io-client: socketIoSubscribers.ts), each
// checking its deliveries in to the process's tally (deliveryLedger.ts).
import type { SubscriberTransport } from './fanoutOptions.ts';
import type { LedgerCount } from './deliveryLedger.ts';

/** A subscriber of our stack on one transport, or a Socket.IO client. */
export type ClientKind = SubscriberTransport | 'socketio';

export interface ClientTarget {
  /** http://host:port of Pushpin's proxy, the edge or the Socket.IO server. */
  baseUrl: string;
  /** Straight to Pushpin a client names the route itself (the edge does that for its clients). */
  headers: Record<string, string>;
  channel: string;
  /** Position before the first published message: every later message must arrive. */
  since: string;
}

export interface GroupStats {
  /** Times a subscriber connected again after its connection ended or failed. */
  reconnects: number;
  /** Connection attempts answered with an error status or refused. */
  connectFailures: number;
  /** Continuity notices (the position could not be continued); none are expected. */
  resets: number;
  /** Messages the proxy sent again that the client dropped (our clients only). */
  duplicatesDropped: number;
}

export function emptyStats(): GroupStats {
  return { reconnects: 0, connectFailures: 0, resets: 0, duplicatesDropped: 0 };
}

export interface SubscriberGroup {
  /** Starts one more subscriber; resolves once it is subscribed (rejects when it fails for good). */
  add(kind: ClientKind): Promise<void>;
  /** Deliveries against the ids the publisher was told were stored. */
  count(published: readonly string[]): LedgerCount;
  stats(): GroupStats;
  /** Why our clients connected again (the client's recovery reasons), summed; empty for Socket.IO. */
  recoveries(): Record<string, number>;
  stop(): void;
}
