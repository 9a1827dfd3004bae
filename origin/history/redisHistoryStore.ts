// History in Redis, shared by several origin instances (REDIS_URL). Every operation that must be atomic
// (assigning ids while naming the WebSocket subscribes in progress, reading a consistent position with
// the replay, settling a subscribe) is one Lua script: see redisScripts.ts for the keys and rules.
import { randomUUID } from 'node:crypto';
import type { HistoryConfig } from './historyConfig.ts';
import {
  HistoryConflictError,
  DEFAULT_IN_FLIGHT_TTL_MS,
  HistoryUnavailableError,
  type AppendedMessage,
  type AppendInput,
  type ChannelAppend,
  type ChannelAppendResult,
  type ChannelMessage,
  type ChannelPosition,
  type GateOutcome,
  type HistoryStore,
  type SegmentAppendResult,
} from './historyStore.ts';

import {
  APPEND_SCRIPT,
  BEGIN_SUBSCRIBE_SCRIPT,
  GATE_SCRIPT,
  READ_SCRIPT,
  SETTLE_SUBSCRIBE_SCRIPT,
  STILL_IN_FLIGHT_SCRIPT,
} from './redisScripts.ts';
import { connectRedis } from '../redis/redisConnection.ts';

export { HistoryUnavailableError };

export interface RedisHistoryOptions {
  url: string;
  limits: HistoryConfig;
  /** Prefix for every key, so several deployments (or tests) can share one Redis. */
  keyPrefix?: string;
  /** How long a publish may stay in flight before other instances stop waiting for it. */
  inFlightTtlMs?: number;
}

type StreamEntry = [id: string, fields: string[]];

/** How long an append's answer is kept for the same append sent again (see APPEND_SCRIPT's done key). */
const APPEND_ANSWER_TTL_MS = 120_000;
/** How long an append sent on a ready connection is asked again after its answer was lost. */
const APPEND_RETRY_MS = 2000;
/** How often an append given up on (its outcome unknown) is looked up again while Redis does not answer. */
const LOST_APPEND_CHECK_MS = 500;

/** An append waits at most this long for a gate to open (gates last a catch-up round, milliseconds). */
const GATE_WAIT_LIMIT_MS = 2000;

function messageOf(channel: string, entry: StreamEntry): ChannelMessage {
  const [entryId, fields] = entry;
  let ts = 0;
  let data: unknown = null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'ts') ts = Number(fields[i + 1]);
    else if (fields[i] === 'data') data = JSON.parse(fields[i + 1]!) as unknown;
  }
  return { id: entryId.slice(0, entryId.indexOf('-')), channel, data, ts };
}

function positionOf(reply: unknown[]): ChannelPosition {
  return { lastId: String(reply[0]), floorId: String(reply[1]), epochId: String(reply[2]) };
}

/** A pipeline with the append script defined on it (defineCommand adds it to pipelines too). */
type PipelineWithScripts = {
  APPEND_SCRIPT(...args: Array<string | number>): unknown;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
};

/** Connects and checks the server answers; throws HistoryUnavailableError naming the URL's host otherwise. */
export async function createRedisHistoryStore(options: RedisHistoryOptions): Promise<HistoryStore> {
  const prefix = options.keyPrefix ?? 'fanout-forward:';
  const { maxMessagesPerChannel, maxAgeMs, channelIdleMs } = options.limits;
  const inFlightTtlMs = options.inFlightTtlMs ?? DEFAULT_IN_FLIGHT_TTL_MS;
  // A command on a connection that went silent (half-open) fails; an append then asks again (see
  // append: the same append never stores twice).
  const connection = await connectRedis(options.url, (message, cause) => new HistoryUnavailableError(message, { cause }));
  const { redis, where } = connection;

  // Which server this origin checked, and whether it persists every write before acknowledging it:
  // then its restart lost nothing and the history is kept (see ensure_position in redisScripts.ts).
  // A script that finds a server restarted since the origin's check answers 'unverified'; the origin
  // checks again and retries. Where CONFIG is not allowed (some managed Redis), not durable.
  let trust = '';
  const checkServer = async (): Promise<void> => {
    const runId = /run_id:(\w+)/.exec(await redis.info('server'))?.[1] ?? '';
    let durable = false;
    try {
      const [, appendOnly] = (await redis.config('GET', 'appendonly')) as string[];
      const [, fsync] = (await redis.config('GET', 'appendfsync')) as string[];
      durable = appendOnly === 'yes' && fsync === 'always';
    } catch {
      durable = false;
    }
    trust = `${runId}:${durable ? 1 : 0}`;
  };
  await checkServer().catch(() => {});
  /** Runs a script that checks the server; once more after checking it again when it says 'unverified'. */
  const checked = async (run: () => Promise<unknown>): Promise<unknown[]> => {
    let reply = (await run()) as unknown[];
    if (reply[0] === 'unverified') {
      await checkServer();
      reply = (await run()) as unknown[];
      if (reply[0] === 'unverified') throw new Error('Redis restarted again while it was being checked');
    }
    return reply;
  };

  // Named as they are (the append script also runs on pipelines: PipelineWithScripts).
  const runners = connection.defineScripts({ APPEND_SCRIPT, READ_SCRIPT, BEGIN_SUBSCRIBE_SCRIPT, SETTLE_SUBSCRIBE_SCRIPT, STILL_IN_FLIGHT_SCRIPT, GATE_SCRIPT });

  /** Any failure to talk to Redis is reported as the store being unavailable (nothing was done); a conflict is the store's answer. */
  const call = <T>(work: () => Promise<T>): Promise<T> => connection.call(work, (error) => error instanceof HistoryConflictError);

  const keysOf = (channel: string) => {
    const tag = `${prefix}{${channel}}`;
    return { pos: `${tag}:pos`, log: `${tag}:log`, sub: `${tag}:sub`, fly: `${tag}:fly`, gate: `${tag}:gate`, cool: `${tag}:cool` };
  };

  /** The append script's arguments for one channel's segments, under this call's done key. */
  const appendArgs = (channel: string, segments: AppendInput[][], done: string): Array<string | number> => {
    const k = keysOf(channel);
    const args: Array<string | number> = [6, k.pos, k.log, k.sub, k.fly, k.gate, done, maxMessagesPerChannel, maxAgeMs, channelIdleMs, inFlightTtlMs, segments.length];
    for (const inputs of segments) {
      args.push(inputs.length);
      for (const input of inputs) args.push(input.id ?? '', input.dataJson ?? JSON.stringify(input.data ?? null));
    }
    args.push(trust, APPEND_ANSWER_TTL_MS);
    return args;
  };

  /**
   * Runs append calls in one pipeline (one round trip), each call one script on its own channel.
   * Each call has its own done key (a nonce): sent again (by ioredis after a reconnect, or by the
   * retry here), the script answers what it answered the first time instead of storing twice. A call
   * sent on a ready connection may have run even when no answer came back: it is asked again until
   * an answer comes or the retry time is up, and then fails saying that what it stored is unknown.
   * Queued while Redis was down, it never ran. A call that finds the server restarted since it was
   * checked ('unverified') runs again at once after a check.
   */
  /**
   * An append given up on with its outcome unknown (its answer lost, Redis gone for longer than
   * APPEND_RETRY_MS): whatever it stored went into flight, and nothing will publish it (its caller
   * was told the outcome is unknown). Left alone, it would count as in flight until the in-flight TTL,
   * and every WebSocket subscribe on the channel would wait for it and be answered subscribe_busy
   * meanwhile (seen: 100 WebSocket clients of one channel recovering for ~20 s after Redis was killed
   * mid-append). So once Redis answers again, the append's done key says what it stored, and that is
   * taken out of flight at once: no proxy was sent it, so nothing can land late. Clients get those
   * messages from the history (the next message's `prev` names them).
   */
  const lostAppendTimers = new Set<NodeJS.Timeout>();
  let closed = false;
  const settleLostAppend = ({ channel, segments }: ChannelAppend, done: string): void => {
    const until = Date.now() + inFlightTtlMs;
    const check = async (): Promise<void> => {
      try {
        const saved = await redis.get(done);
        // No done key: the append never ran (or ran so long ago that its messages are out of flight anyway).
        const reply = saved === null ? [] : (JSON.parse(saved) as unknown[]);
        const stored = reply[0] === 'ok' ? segmentsOf(channel, segments, reply) : [];
        const ids = stored.flatMap((segment) => (segment.ok ? segment.result.messages.filter((m) => !m.duplicate).map((m) => m.message.id) : []));
        if (ids.length > 0) await redis.zrem(keysOf(channel).fly, ...ids);
      } catch {
        if (!closed && Date.now() < until) later();
      }
    };
    const later = () => {
      const timer = setTimeout(() => {
        lostAppendTimers.delete(timer);
        void check();
      }, LOST_APPEND_CHECK_MS);
      timer.unref();
      lostAppendTimers.add(timer);
    };
    later();
  };

  const runAppends = async (calls: ChannelAppend[]): Promise<Array<unknown[] | HistoryUnavailableError>> => {
    const results: Array<unknown[] | HistoryUnavailableError> = new Array(calls.length);
    const doneKeys = calls.map(({ channel }) => `${prefix}{${channel}}:done:${randomUUID()}`);
    let args = calls.map(({ channel, segments }, i) => appendArgs(channel, segments, doneKeys[i]!));
    const sentReady = redis.status === 'ready';
    const giveUp = Date.now() + (sentReady ? APPEND_RETRY_MS : 0);
    let pending = calls.map((_, i) => i);
    let rechecked = false;
    for (;;) {
      const pipeline = redis.pipeline() as unknown as PipelineWithScripts;
      for (const i of pending) pipeline.APPEND_SCRIPT(...args[i]!);
      let replies: Array<[Error | null, unknown]>;
      try {
        replies = (await pipeline.exec()) ?? [];
      } catch (error) {
        replies = pending.map(() => [error as Error, undefined]);
      }
      const failed: number[] = [];
      const unverified: number[] = [];
      let lastError: Error | undefined;
      pending.forEach((i, n) => {
        const [error, reply] = replies[n] ?? [new Error('no reply in the pipeline'), undefined];
        if (error) {
          failed.push(i);
          lastError = error;
        } else if ((reply as unknown[])[0] === 'unverified') unverified.push(i);
        else results[i] = reply as unknown[];
      });
      if (unverified.length > 0) {
        try {
          await checkServer();
        } catch (error) {
          lastError = error as Error;
        }
        lastError ??= new Error('Redis restarted again while it was being checked');
        // The same calls (same done keys) with the trust just checked.
        args = calls.map(({ channel, segments }, i) => appendArgs(channel, segments, doneKeys[i]!));
      }
      const again = [...failed, ...unverified].sort((a, b) => a - b);
      if (again.length === 0) break;
      // After a server check, once at once; otherwise every 100 ms until the retry time is up.
      const checkedJustNow = failed.length === 0 && !rechecked;
      if (unverified.length > 0) rechecked = true;
      if (!checkedJustNow) {
        if (Date.now() >= giveUp) {
          const message = `Redis at ${where}: ${lastError?.message ?? 'no answer'}`;
          for (const i of again) {
            results[i] = new HistoryUnavailableError(sentReady ? `${message} (the append was sent: what it stored is unknown)` : message, {
              cause: lastError,
              maybeStored: sentReady,
            });
            if (sentReady) settleLostAppend(calls[i]!, doneKeys[i]!);
          }
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      pending = again;
    }
    return results;
  };

  /** The segments of an 'ok' reply, as results (inputs give the data back, as the script does not). */
  const segmentsOf = (channel: string, segments: AppendInput[][], reply: unknown[]): SegmentAppendResult[] => {
    const count = Number(reply[1]);
    const skipUsers = reply.slice(2 + count).map(String);
    return segments.map((inputs, s): SegmentAppendResult => {
      const segment = reply[2 + s] as unknown[];
      if (segment[0] === 'conflict') return { ok: false, error: new HistoryConflictError(`${String(segment[2])} on channel ${channel}`, Number(segment[1])) };
      const messages: AppendedMessage[] = [];
      const n = Number(segment[1]);
      for (let i = 0; i < n; i++) {
        const [id, prevId, duplicate, ts] = segment.slice(2 + 4 * i, 6 + 4 * i) as [string, string, number, string];
        messages.push({
          message: { id: String(id), channel, data: inputs[i]!.data ?? null, ts: Number(ts) },
          prevId: String(prevId),
          duplicate: Number(duplicate) === 1,
        });
      }
      return { ok: true, result: { messages, skipUsers: messages.some((m) => !m.duplicate) ? skipUsers : [] } };
    });
  };

  return {
    async append(channel, inputs) {
      // A subscribe holds the channel's appends for one round (gateAppends): wait it out.
      for (const giveUp = Date.now() + GATE_WAIT_LIMIT_MS; ; ) {
        const [reply] = await runAppends([{ channel, segments: [inputs] }]);
        if (reply instanceof HistoryUnavailableError) throw reply;
        if (reply![0] === 'gated') {
          if (Date.now() > giveUp) throw new HistoryUnavailableError(`appends on ${channel} stayed held for over ${GATE_WAIT_LIMIT_MS} ms`);
          await new Promise((r) => setTimeout(r, Math.min(Number(reply![1]), 5)));
          continue;
        }
        const [segment] = segmentsOf(channel, [inputs], reply!);
        if (!segment!.ok) throw segment!.error;
        return segment!.result;
      }
    },

    async appendChannels(appends) {
      const replies = await runAppends(appends);
      return appends.map(({ channel, segments }, i): ChannelAppendResult => {
        const reply = replies[i]!;
        if (reply instanceof HistoryUnavailableError) return { status: 'failed', error: reply };
        if (reply[0] === 'gated') return { status: 'gated', retryInMs: Number(reply[1]) };
        return { status: 'done', segments: segmentsOf(channel, segments, reply) };
      });
    },

    async read(channel, afterId, limit) {
      const k = keysOf(channel);
      const reply = await call(() => checked(() => runners.READ_SCRIPT(3, k.pos, k.log, k.fly, maxAgeMs, channelIdleMs, afterId ?? '', limit, trust)));
      return { position: positionOf(reply), messages: (reply.slice(3) as StreamEntry[]).map((e) => messageOf(channel, e)) };
    },

    async landed(channel, ids) {
      if (ids.length === 0) return;
      await call(() => redis.zrem(keysOf(channel).fly, ...ids));
    },

    async landedChannels(entries) {
      const pipeline = redis.pipeline();
      let commands = 0;
      for (const { channel, ids } of entries) {
        if (ids.length === 0) continue;
        pipeline.zrem(keysOf(channel).fly, ...ids);
        commands++;
      }
      if (commands === 0) return;
      const replies = await call(() => pipeline.exec());
      const failed = replies?.find(([error]) => error);
      if (failed) throw new HistoryUnavailableError(`Redis at ${where}: ${failed[0]!.message}`, { cause: failed[0] });
    },

    async stillInFlight(channel, ids) {
      if (ids.length === 0) return [];
      const reply = (await call(() => runners.STILL_IN_FLIGHT_SCRIPT(1, keysOf(channel).fly, ...ids))) as unknown[];
      return reply.map(String);
    },

    async beginSubscribe(channel, user, ttlMs, maxConcurrent, staleMs) {
      const k = keysOf(channel);
      const reply = await call(() =>
        checked(() =>
          runners.BEGIN_SUBSCRIBE_SCRIPT(4, k.pos, k.log, k.sub, k.fly, user, ttlMs, maxAgeMs, channelIdleMs, maxConcurrent, trust, staleMs ?? ''),
        ),
      );
      if (reply[0] === 'busy') return { busy: true };
      return { busy: false, position: positionOf(reply), inFlight: reply.slice(3).map(String) };
    },

    async settleSubscribe(channel, user, expectedLastId) {
      const k = keysOf(channel);
      const reply = (await call(() => runners.SETTLE_SUBSCRIBE_SCRIPT(2, k.pos, k.sub, user, expectedLastId ?? ''))) as unknown[];
      if (reply[0] === 'lapsed') return { outcome: 'lapsed' };
      return { outcome: reply[0] === 'settled' ? 'settled' : 'behind', lastId: String(reply[1]) };
    },

    async gateAppends(channel, ttlMs, cooldownMs) {
      const k = keysOf(channel);
      return (await call(() => runners.GATE_SCRIPT(2, k.gate, k.cool, ttlMs, cooldownMs))) as GateOutcome;
    },

    async ungateAppends(channel) {
      await call(() => redis.del(keysOf(channel).gate));
    },

    async cancelSubscribe(channel, user) {
      await call(() => redis.hdel(keysOf(channel).sub, user));
    },

    async ping() {
      await call(() => redis.ping());
    },

    async close() {
      closed = true;
      for (const timer of lostAppendTimers) clearTimeout(timer);
      lostAppendTimers.clear();
      await connection.close();
    },
  };
}
