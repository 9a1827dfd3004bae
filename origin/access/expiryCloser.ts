// Ends WebSocket subscriptions when their token expires. A WebSocket held by the proxy calls the origin
// only when something happens on it, so the origin cannot notice an expiry by itself: every connection
// with a grant ending at `exp` also holds the channel `expiry:ws:<exp>`, and at `exp` this publishes
// to it an error frame and a close (4001), which the proxy applies to each of them at once.
//
// The timers live in the process that saw the subscribe. If it goes away before `exp` (a restart, a
// scale-down), the connection's next call to any origin (at most GRANT_KEEP_ALIVE_SECONDS later: see
// wsSession.ts) finds the grant expired and closes it, or schedules the close again.
import type { GripPublishItem } from '../publishing/gripItems.ts';
import { expiryChannelFor } from '../channels/gripChannels.ts';
import { CLOSE_CODES, serverFrames } from '../../protocol/index.ts';

export interface ExpiryCloser {
  /** Makes sure a close is published at `exp` (seconds since the epoch); idempotent. */
  schedule(exp: number): void;
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
  const fire = (exp: number) => {
    timers.delete(exp);
    options.publish(expiryItems(exp)).catch((error: unknown) => options.onError?.(exp, error));
  };
  return {
    schedule(exp) {
      if (timers.has(exp)) return;
      const delay = exp * 1000 - now();
      if (delay > horizonMs) return;
      const timer = setTimeout(() => fire(exp), Math.max(0, delay));
      timer.unref();
      timers.set(exp, timer);
    },
    get scheduled() {
      return timers.size;
    },
    stop() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
