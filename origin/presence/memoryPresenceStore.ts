// Presence in this process (no REDIS_URL): one ledger per channel with leases, dropped when its last
// lease goes; the sweep visits only channels whose earliest lease may have lapsed. What it holds is
// lost with the process: after a restart every WebSocket's next call (its keep-alive at the latest)
// and every client's next lease renewal enters it again.
import { emptyTransportCounts } from '../../protocol/index.ts';
import { createLedger, expireLeases, memberPage, releaseLease, touchLease, type ChannelLedger } from './presenceLedger.ts';
import { DEFAULT_PRESENCE_LIMITS, type LeaseTouch, type PresenceChange, type PresenceLimits, type PresenceStore } from './presenceStore.ts';

export interface MemoryPresenceStore extends PresenceStore {
  /** Channels holding leases now (for tests: an empty channel keeps nothing). */
  readonly channelCount: number;
}

export function createMemoryPresenceStore(limits: PresenceLimits = DEFAULT_PRESENCE_LIMITS, now: () => number = Date.now): MemoryPresenceStore {
  const ledgers = new Map<string, ChannelLedger>();

  /** The channel's ledger with its lapsed leases claimed; a new one (not kept yet) when it has none. */
  const ledgerOf = (channel: string, at: number, out: PresenceChange[]): ChannelLedger => {
    const ledger = ledgers.get(channel);
    if (!ledger) return createLedger(channel);
    expireLeases(ledger, at, out);
    return ledger;
  };
  /** Keeps a ledger with leases, forgets an empty one. */
  const keep = (ledger: ChannelLedger): void => {
    if (ledger.connections.size > 0) ledgers.set(ledger.channel, ledger);
    else ledgers.delete(ledger.channel);
  };

  return {
    async touch(touches, ttlMs) {
      const at = now();
      const changes: PresenceChange[] = [];
      const refused: LeaseTouch[] = [];
      for (const touch of touches) {
        const ledger = ledgerOf(touch.channel, at, changes);
        const result = touchLease(ledger, touch.connection, touch.transport, touch.member, at + ttlMs, at, limits.maxConnectionsPerChannel, changes);
        if (result === 'full') refused.push(touch);
        keep(ledger);
      }
      return { changes, refused };
    },

    async release(releases) {
      const at = now();
      const changes: PresenceChange[] = [];
      for (const { channel, connection } of releases) {
        if (!ledgers.has(channel)) continue;
        const ledger = ledgerOf(channel, at, changes);
        releaseLease(ledger, connection, at, changes);
        keep(ledger);
      }
      return changes;
    },

    async read(channel, page) {
      const changes: PresenceChange[] = [];
      const ledger = ledgerOf(channel, now(), changes);
      keep(ledger);
      const { members, next } = memberPage(ledger, page.after, page.limit);
      return {
        occupancy: { connections: ledger.connections.size, members: ledger.members.size, byTransport: { ...emptyTransportCounts(), ...ledger.byTransport } },
        members,
        ...(next !== undefined ? { next } : {}),
        changes,
      };
    },

    async sweep(maxChannels = Infinity) {
      const at = now();
      const changes: PresenceChange[] = [];
      let visited = 0;
      for (const ledger of [...ledgers.values()]) {
        if (ledger.earliestExpiry > at) continue;
        if (visited++ >= maxChannels) break;
        expireLeases(ledger, at, changes);
        keep(ledger);
      }
      return changes;
    },

    async close() {
      ledgers.clear();
    },

    get channelCount() {
      return ledgers.size;
    },
  };
}
