// Ends WebSocket subscriptions when their token expires. A WebSocket held by the proxy calls the origin
// only when something happens on it, so the origin cannot notice an expiry by itself: every connection
// with a grant ending at `exp` also holds the channel `expiry:ws:<exp>`, and at `exp` this publishes
// to it an error frame and a close (4001), which the proxy applies to each of them at once. The proxy
// applies a subscription (the `c:` control frame) only when the origin's answer reaches it, so for a
// connection that subscribed the channel less than EXPIRY_REPEAT_SECONDS before `exp` the two items
// go out again that long after `exp` (see expiryRepeat.ts): two more items for such an expiry.
//
// The timers live in the process that saw the subscribe. If it goes away before `exp` (a restart, a
// scale-down), the connection's next call to any origin (at most GRANT_KEEP_ALIVE_SECONDS later: see
// wsSession.ts) finds the grant expired and closes it, or schedules the close again.
import type { GripPublishItem } from '../publishing/gripItems.ts';
import { expiryChannelFor } from '../channels/gripChannels.ts';
import { CLOSE_CODES, serverFrames } from '../../protocol/index.ts';
import { expiryRepeatAt } from './expiryRepeat.ts';

export interface ExpiryCloser {
  /**
   * Makes sure a close is published at `exp` (seconds since the epoch); idempotent. `newSubscription`:
   * the answer being sent subscribes a connection to the channel of `exp` (default true), so the close
   * is published again after `exp` when that is near (see expiryRepeat.ts).
   */
  schedule(exp: number, options?: { newSubscription: boolean }): void;
  /** Expiries waiting (for metrics and tests). */
  readonly scheduled: number;
  stop(): void;
}

export interface ExpiryCloserOptions {
  publish(items: GripPublishItem[]): Promise<void>;
  onError?(exp: number, error: unknown): void;
  now?(): number;
  /**
   * Expiries further away are not scheduled yet: the connection's keep-alive calls come sooner and
   * schedule them then, so the timers stay few whatever lifetimes tokens have.
   */
  horizonSeconds?: number;
}

export function expiryItems(exp: number): GripPublishItem[] {
  const channel = expiryChannelFor(exp);
  const frame = serverFrames.error({
    error: 'token_expired',
    message: 'a subscribe token of this connection expired; reconnect with a fresh one and "since"',
  });
  return [
    { channel, formats: { 'ws-message': { content: frame } } },
    { channel, formats: { 'ws-message': { action: 'close', code: CLOSE_CODES.tokenExpired, reason: 'subscribe token expired' } } },
  ];
}

export function createExpiryCloser(options: ExpiryCloserOptions): ExpiryCloser {
  const now = options.now ?? Date.now;
  const horizonMs = (options.horizonSeconds ?? 600) * 1000;
  const timers = new Map<number, NodeJS.Timeout>();
  const repeats = new Map<number, { at: number; timer: NodeJS.Timeout }>();
  const publish = (exp: number) => options.publish(expiryItems(exp)).catch((error: unknown) => options.onError?.(exp, error));
  const later = (delayMs: number, run: () => void) => {
    const timer = setTimeout(run, Math.max(0, delayMs));
    timer.unref();
    return timer;
  };
  return {
    schedule(exp, { newSubscription } = { newSubscription: true }) {
      const t = now();
      const delay = exp * 1000 - t;
      if (!timers.has(exp) && delay <= horizonMs) {
        timers.set(
          exp,
          later(delay, () => {
            timers.delete(exp);
            void publish(exp);
          }),
        );
      }
      const at = newSubscription ? expiryRepeatAt(exp, t) : undefined;
      const repeat = repeats.get(exp);
      if (at === undefined || (repeat && repeat.at >= at)) return;
      clearTimeout(repeat?.timer);
      repeats.set(exp, {
        at,
        timer: later(at - t, () => {
          repeats.delete(exp);
          void publish(exp);
        }),
      });
    },
    get scheduled() {
      return new Set([...timers.keys(), ...repeats.keys()]).size;
    },
    stop() {
      for (const timer of timers.values()) clearTimeout(timer);
      for (const repeat of repeats.values()) clearTimeout(repeat.timer);
      timers.clear();
      repeats.clear();
    },
  };
}
