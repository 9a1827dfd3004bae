// Ends private SSE and NDJSON streams when their token expires. The proxy holds a stream without a
// next link (see routes/streamHold.ts), so it never calls the origin again, and a Pushpin stream hold
// has no timeout of its own (only a long-poll's `Grip-Timeout` ends a hold; a stream's timer is its
// keep-alive): the origin has to end it. Two channels per stream do that:
// - `expiry:<transport>:<exp>:<channel>`: at `exp` the origin that let the stream in publishes the
//   expiry notice (SSE `event: token-expired`, NDJSON `{"type":"token_expired"}`) and a close to it;
// - `expiry:<transport>:<at>`, the sweep channel of the period (`sweepSeconds` long) that `exp` falls
//   in, `at` its end: every origin instance publishes a close to it when the period is over, so a
//   stream whose origin went away before `exp` (a restart, a crash, a scale-down: the timers lived in
//   that process) ends at most one period late, without the notice (the client's reconnect with the
//   expired token is refused with 403, which tells it). An origin's first sweep also closes the
//   periods that ended shortly before it started, in case no instance ran then.
// The sweep costs every origin instance one publish of two items a period (Fanout bills items), with
// or without private streams; it runs only where private channels can be subscribed at all.
import type { GripPublishItem } from '../publishing/gripItems.ts';
import { streamExpiryChannelFor, streamSweepChannelFor } from '../channels/gripChannels.ts';
import { ndjsonExpired, sseExpired } from '../../protocol/index.ts';

export type StreamTransport = 'sse' | 'stream';

export interface StreamExpiryCloser {
  /**
   * The expiry channels a private stream on `channel` with a grant until `exp` (seconds since the
   * epoch) holds; the close at `exp` is scheduled (once per transport, channel and `exp`).
   */
  hold(transport: StreamTransport, channel: string, exp: number): string[];
  /** Transport-channel pairs whose close at `exp` is waiting (for tests). */
  readonly scheduled: number;
  stop(): void;
}

export interface StreamExpiryCloserOptions {
  publish(items: GripPublishItem[]): Promise<void>;
  /** A close was published for the streams of one channel and transport (for metrics). */
  onClosed?(transport: StreamTransport, channel: string): void;
  onError?(what: string, error: unknown): void;
  /** Milliseconds since the epoch. */
  now?(): number;
  /** The sweep period (config STREAM_EXPIRY_SWEEP_SECONDS). */
  sweepSeconds: number;
  /** Whether to sweep at all: false where no private channel can be subscribed (no token secret). */
  sweep: boolean;
}

/** Periods that ended before the origin started and that it closes on start (an origin down that long). */
export const SWEEP_CATCH_UP_PERIODS = 10;
/** setTimeout's longest delay (about 24.8 days); a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const STREAM_TRANSPORTS: readonly StreamTransport[] = ['sse', 'stream'];

/**
 * The end of the sweep period that `exp` falls in: the first multiple of the period after it. Never
 * `exp` itself: the sweep at that instant would race the notice published at `exp`, and its close
 * (without the notice) won once under load.
 */
export function sweepPeriodEnd(exp: number, sweepSeconds: number): number {
  return (Math.floor(exp / sweepSeconds) + 1) * sweepSeconds;
}

/** The expiry notice and the close for the streams of one channel and transport whose token expires at `exp`. */
export function streamExpiryItems(transport: StreamTransport, channel: string, exp: number): GripPublishItem[] {
  const gripChannel = streamExpiryChannelFor(transport, channel, exp);
  const notice = transport === 'sse' ? sseExpired(channel) : ndjsonExpired(channel);
  return [
    { channel: gripChannel, formats: { 'http-stream': { content: notice } } },
    { channel: gripChannel, formats: { 'http-stream': { action: 'close' } } },
  ];
}

/** The closes of every private stream whose token expired in the period ending at `at`. */
export function streamSweepItems(at: number): GripPublishItem[] {
  return STREAM_TRANSPORTS.map((t) => ({ channel: streamSweepChannelFor(t, at), formats: { 'http-stream': { action: 'close' } } }));
}

interface ExpiryEntry {
  timer?: NodeJS.Timeout;
  /** The transport-channel pairs to close at this expiry. */
  pairs: Map<string, { transport: StreamTransport; channel: string }>;
}

export function createStreamExpiryCloser(options: StreamExpiryCloserOptions): StreamExpiryCloser {
  const now = options.now ?? Date.now;
  const period = options.sweepSeconds;
  // One timer per expiry second, whatever the number of streams and channels expiring then.
  const byExp = new Map<number, ExpiryEntry>();
  let stopped = false;

  const arm = (exp: number, entry: ExpiryEntry) => {
    entry.timer = setTimeout(() => fire(exp, entry), Math.min(MAX_TIMER_MS, Math.max(0, exp * 1000 - now())));
    entry.timer.unref();
  };
  const fire = (exp: number, entry: ExpiryEntry) => {
    if (exp * 1000 > now()) return arm(exp, entry);
    byExp.delete(exp);
    const pairs = [...entry.pairs.values()];
    options
      .publish(pairs.flatMap((p) => streamExpiryItems(p.transport, p.channel, exp)))
      .then(() => pairs.forEach((p) => options.onClosed?.(p.transport, p.channel)))
      .catch((error: unknown) =>
        options.onError?.(`the expiry at ${exp} of ${pairs.length} private stream channel(s); the sweep closes them at ${sweepPeriodEnd(exp, period)}`, error),
      );
  };

  // The sweep: periods that ended up to now and are not closed yet (a failed publish is tried again
  // with the next one), at most SWEEP_CATCH_UP_PERIODS of them.
  let sweptUpTo = (Math.floor(now() / 1000 / period) - SWEEP_CATCH_UP_PERIODS) * period;
  let sweepTimer: NodeJS.Timeout | undefined;
  const sweep = () => {
    if (stopped) return;
    const last = Math.floor(now() / 1000 / period) * period;
    const first = Math.max(sweptUpTo + period, last - (SWEEP_CATCH_UP_PERIODS - 1) * period);
    const ends: number[] = [];
    for (let at = first; at <= last; at += period) ends.push(at);
    if (ends.length > 0) {
      options
        .publish(ends.flatMap(streamSweepItems))
        .then(() => {
          sweptUpTo = Math.max(sweptUpTo, last);
        })
        .catch((error: unknown) => options.onError?.(`the expiry sweep of the periods ending ${ends[0]}-${last}; tried again in ${period} s`, error));
    }
    scheduleSweep();
  };
  // The first at the first period's end, not at start (the proxy may not be up yet).
  const scheduleSweep = () => {
    sweepTimer = setTimeout(sweep, Math.max(0, (Math.floor(now() / 1000 / period) + 1) * period * 1000 - now()));
    sweepTimer.unref();
  };
  if (options.sweep) scheduleSweep();

  return {
    hold(transport, channel, exp) {
      const channels = [streamExpiryChannelFor(transport, channel, exp), streamSweepChannelFor(transport, sweepPeriodEnd(exp, period))];
      if (stopped) return channels;
      let entry = byExp.get(exp);
      if (!entry) {
        entry = { pairs: new Map() };
        byExp.set(exp, entry);
        arm(exp, entry);
      }
      entry.pairs.set(`${transport}\n${channel}`, { transport, channel });
      return channels;
    },
    get scheduled() {
      let n = 0;
      for (const entry of byExp.values()) n += entry.pairs.size;
      return n;
    },
    stop() {
      stopped = true;
      for (const entry of byExp.values()) clearTimeout(entry.timer);
      byExp.clear();
      clearTimeout(sweepTimer);
    },
  };
}
