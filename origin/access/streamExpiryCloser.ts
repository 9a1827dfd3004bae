// Ends private SSE and NDJSON streams when their token expires. The proxy holds a stream without a
// next link (see routes/streamHold.ts), so it never calls the origin again, and a Pushpin stream hold
// has no timeout of its own (only a long-poll's `Grip-Timeout` ends a hold; a stream's timer is its
// keep-alive): the origin has to end it. Two channels per stream do that:
// - `expiry:<transport>:<exp>:<channel>`: at `exp` the origin that let the stream in publishes the
//   expiry notice (SSE `event: token-expired`, NDJSON `{"type":"token_expired"}`) and a close to it,
//   and again EXPIRY_REPEAT_SECONDS later when it answered a hold of that channel less than that
//   before `exp` (the proxy may subscribe such a hold after `exp`: see expiryRepeat.ts);
// - `expiry:<transport>:<at>`, the sweep channel of the period (`sweepSeconds` long) that
//   `exp + EXPIRY_REPEAT_SECONDS` falls in, `at` its end: every origin instance publishes a close to
//   it when the period is over, so a stream whose origin went away before `exp` (a restart, a crash,
//   a scale-down: the timers lived in that process) ends at most one period and EXPIRY_REPEAT_SECONDS
//   late, without the notice (the client's reconnect with the expired token is refused with 403,
//   which tells it). An origin's first sweep also closes the periods that ended shortly before it
//   started, in case no instance ran then.
// The sweep costs every origin instance one publish of two items a period (Fanout bills items), with
// or without private streams; it runs only where private channels can be subscribed at all. An
// expiry costs two items per channel and transport at `exp`, and two more per channel and transport
// held late (see above) at the repeat.
import type { GripPublishItem } from '../publishing/gripItems.ts';
import { streamExpiryChannelFor, streamSweepChannelFor } from '../channels/gripChannels.ts';
import { ndjsonExpired, sseExpired } from '../../protocol/index.ts';
import { EXPIRY_REPEAT_SECONDS, expiryRepeatAt } from './expiryRepeat.ts';

export type StreamTransport = 'sse' | 'stream';

export interface StreamExpiryCloser {
  /**
   * The expiry channels a private stream on `channel` with a grant until `exp` (seconds since the
   * epoch) holds; the close at `exp` is scheduled (once per transport, channel and `exp`), and its
   * repeat when the hold is answered less than EXPIRY_REPEAT_SECONDS before `exp`.
   */
  hold(transport: StreamTransport, channel: string, exp: number): string[];
  /** Transport-channel pairs whose close (at `exp` or its repeat) is waiting (for tests). */
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
 * The end of the sweep period that closes the streams expiring at `exp`: the first multiple of the
 * period after `exp + EXPIRY_REPEAT_SECONDS`. Not earlier: a hold answered shortly before `exp` may be
 * subscribed after `exp`, and would miss the sweep's close (nothing would end it if its origin was
 * gone too). Never at that instant: the sweep's close would race the notice published then (at `exp`
 * it won once under load: the stream ended without the notice).
 */
export function sweepPeriodEnd(exp: number, sweepSeconds: number): number {
  return (Math.floor((exp + EXPIRY_REPEAT_SECONDS) / sweepSeconds) + 1) * sweepSeconds;
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

interface StreamPair {
  transport: StreamTransport;
  channel: string;
}

interface ExpiryEntry {
  timer?: NodeJS.Timeout;
  /**
   * Whether the publish at `exp` went out. True from the start for an entry made after `exp`: its
   * holds are not subscribed yet (the proxy has not had the answer), only the repeat reaches them.
   */
  publishedAtExp: boolean;
  /** The transport-channel pairs to close at this expiry. */
  pairs: Map<string, StreamPair>;
  /** The pairs with a hold answered less than EXPIRY_REPEAT_SECONDS before `exp` (or after it), closed again at `repeatAt`. */
  late: Map<string, StreamPair>;
  /** Milliseconds since the epoch; 0 when nothing is late. */
  repeatAt: number;
}

const pairKey = (p: StreamPair) => `${p.transport}\n${p.channel}`;

export function createStreamExpiryCloser(options: StreamExpiryCloserOptions): StreamExpiryCloser {
  const now = options.now ?? Date.now;
  const period = options.sweepSeconds;
  // One timer per expiry second, whatever the number of streams and channels expiring then.
  const byExp = new Map<number, ExpiryEntry>();
  let stopped = false;

  const dueAt = (exp: number, entry: ExpiryEntry) => (entry.publishedAtExp ? entry.repeatAt : exp * 1000);
  const arm = (exp: number, entry: ExpiryEntry) => {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => fire(exp, entry), Math.min(MAX_TIMER_MS, Math.max(0, dueAt(exp, entry) - now())));
    entry.timer.unref();
  };
  const publish = (exp: number, pairs: StreamPair[], counted: (p: StreamPair) => boolean, what: string) => {
    options
      .publish(pairs.flatMap((p) => streamExpiryItems(p.transport, p.channel, exp)))
      .then(() => pairs.forEach((p) => counted(p) || options.onClosed?.(p.transport, p.channel)))
      .catch((error: unknown) =>
        options.onError?.(`${what} of ${pairs.length} private stream channel(s); the sweep closes them at ${sweepPeriodEnd(exp, period)}`, error),
      );
  };
  const fire = (exp: number, entry: ExpiryEntry) => {
    if (dueAt(exp, entry) > now()) return arm(exp, entry);
    if (!entry.publishedAtExp) {
      entry.publishedAtExp = true;
      publish(exp, [...entry.pairs.values()], () => false, `the expiry at ${exp}`);
      if (entry.late.size > 0) return arm(exp, entry);
    } else {
      // Metrics count a pair once: those closed at exp already were.
      publish(exp, [...entry.late.values()], (p) => entry.pairs.has(pairKey(p)), `the repeat of the expiry at ${exp}`);
    }
    byExp.delete(exp);
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
      const pair = { transport, channel };
      const at = now();
      let entry = byExp.get(exp);
      const fresh = !entry;
      if (!entry) {
        entry = { publishedAtExp: at >= exp * 1000, pairs: new Map(), late: new Map(), repeatAt: 0 };
        byExp.set(exp, entry);
      }
      if (!entry.publishedAtExp) entry.pairs.set(pairKey(pair), pair);
      const repeatAt = expiryRepeatAt(exp, at);
      let later = false;
      if (repeatAt !== undefined) {
        entry.late.set(pairKey(pair), pair);
        later = repeatAt > entry.repeatAt;
        entry.repeatAt = Math.max(entry.repeatAt, repeatAt);
      }
      // One timer per expiry: set when the entry is made, moved when a hold after exp moves the repeat.
      if (fresh || (entry.publishedAtExp && later)) arm(exp, entry);
      return channels;
    },
    get scheduled() {
      let n = 0;
      for (const entry of byExp.values()) n += entry.publishedAtExp ? entry.late.size : new Set([...entry.pairs.keys(), ...entry.late.keys()]).size;
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
