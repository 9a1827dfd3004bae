// Presence in Redis (REDIS_URL), shared by every origin of a deployment: members and occupancy as
// leases in Redis's clock, every transition one Lua script (redisPresenceScripts.ts) following the
// same rules as the in-memory ledger. A lease that lapses is claimed by whichever origin sweeps or
// touches its channel first, atomically, so its leaving is announced once.
import { emptyTransportCounts, isTransportName, type PresenceInfo, type PresenceMember } from '../../protocol/index.ts';
import { connectRedis } from '../redis/redisConnection.ts';
import { READ_SCRIPT, RELEASE_SCRIPT, SWEEP_SCRIPT, TOUCH_SCRIPT } from './redisPresenceScripts.ts';
import {
  DEFAULT_PRESENCE_LIMITS,
  PresenceUnavailableError,
  type LeaveReason,
  type PresenceChange,
  type PresenceChangeType,
  type PresenceLimits,
  type PresenceStore,
} from './presenceStore.ts';

export interface RedisPresenceOptions {
  url: string;
  limits?: PresenceLimits;
  /** Prefix for every key (several deployments or tests on one Redis); `{presence}` follows it. */
  keyPrefix?: string;
}

const CHANGE_TYPES: readonly PresenceChangeType[] = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'];

function infoOf(json: string): PresenceInfo | undefined {
  if (json === '') return undefined;
  try {
    return JSON.parse(json) as PresenceInfo;
  } catch {
    return undefined;
  }
}

/** The flat sextuples the scripts report changes in. */
function changesOf(flat: unknown): PresenceChange[] {
  const values = (flat as unknown[]).map(String);
  const changes: PresenceChange[] = [];
  for (let i = 0; i + 5 < values.length; i += 6) {
    const [type, channel, clientId, info, reason, ts] = values.slice(i, i + 6) as [PresenceChangeType, string, string, string, string, string];
    if (!CHANGE_TYPES.includes(type)) continue;
    const parsedInfo = infoOf(info);
    changes.push({
      type,
      channel,
      ...(clientId !== '' ? { clientId } : {}),
      ...(parsedInfo !== undefined ? { info: parsedInfo } : {}),
      ...(reason !== '' ? { reason: reason as LeaveReason } : {}),
      ts: Number(ts),
    });
  }
  return changes;
}

/** Connects and checks the server answers; throws PresenceUnavailableError naming the URL's host otherwise. */
export async function createRedisPresenceStore(options: RedisPresenceOptions): Promise<PresenceStore> {
  const limits = options.limits ?? DEFAULT_PRESENCE_LIMITS;
  const tag = `${options.keyPrefix ?? 'fanout-forward:'}{presence}:`;
  const due = `${tag}due`;
  const channelPrefix = `${tag}c:`;
  const connection = await connectRedis(options.url, (message, cause) => new PresenceUnavailableError(message, cause === undefined ? undefined : { cause }));
  // Every script takes the due set and the channel key prefix first.
  const runners = connection.defineScripts({ TOUCH_SCRIPT, RELEASE_SCRIPT, READ_SCRIPT, SWEEP_SCRIPT }, 'presence', [1, due, channelPrefix]);
  const { call } = connection;

  return {
    async touch(touches, ttlMs) {
      if (touches.length === 0) return { changes: [], refused: [] };
      const args: Array<string | number> = [Math.max(1, Math.round(ttlMs)), limits.maxConnectionsPerChannel];
      for (const t of touches) {
        args.push(t.channel, t.connection, t.transport, t.member?.clientId ?? '', t.member?.info !== undefined ? JSON.stringify(t.member.info) : '');
      }
      const [changes, refused] = (await call(() => runners.TOUCH_SCRIPT(...args))) as [unknown[], unknown[]];
      return { changes: changesOf(changes), refused: refused.map((n) => touches[Number(n) - 1]!) };
    },

    async release(releases) {
      if (releases.length === 0) return [];
      const args = releases.flatMap((r) => [r.channel, r.connection]);
      const [changes] = (await call(() => runners.RELEASE_SCRIPT(...args))) as [unknown[]];
      return changesOf(changes);
    },

    async read(channel, page) {
      const reply = (await call(() => runners.READ_SCRIPT(channel, page.after ?? '', page.limit))) as [unknown[], number, number, unknown[], unknown[], number];
      const [changes, connections, members, counts, flatPage, more] = reply;
      const byTransport = emptyTransportCounts();
      for (let i = 0; i + 1 < counts.length; i += 2) {
        const transport = String(counts[i]);
        if (isTransportName(transport)) byTransport[transport] = Number(counts[i + 1]);
      }
      const list: PresenceMember[] = [];
      for (let i = 0; i + 2 < flatPage.length; i += 3) {
        const info = infoOf(String(flatPage[i + 2]));
        list.push({ clientId: String(flatPage[i]), ...(info !== undefined ? { info } : {}), connections: Number(flatPage[i + 1]) });
      }
      return {
        occupancy: { connections: Number(connections), members: Number(members), byTransport },
        members: list,
        ...(Number(more) === 1 && list.length > 0 ? { next: list.at(-1)!.clientId } : {}),
        changes: changesOf(changes),
      };
    },

    async sweep(maxChannels = 1000) {
      const [changes] = (await call(() => runners.SWEEP_SCRIPT(Number.isFinite(maxChannels) ? maxChannels : 1_000_000))) as [unknown[]];
      return changesOf(changes);
    },

    close: connection.close,
  };
}
