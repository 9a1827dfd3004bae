// A WebSocket subscribe with no window in which a message can be missed or doubled.
//
// Pushpin (and Fanout) apply a subscription a moment after relaying the frames of the response that
// asked for it; messages published in that moment would be missed, and WebSocket items have no
// prev-id check to notice. So a subscribe takes three steps:
// 1. begin: the history records the connection as subscribing (from now on every message appended on
//    the channel names it in the skip-users meta of its WebSocket item, so it cannot reach it live);
//    publishes still in flight up to that position are awaited (they cannot name it, so they must be
//    delivered before the subscription exists); the answer subscribes it, with the skip-users filter,
//    and ends with a barrier: a ping the proxy sends only after it applied the subscription.
// 2. the client's pong of the barrier comes back as a PONG event: the subscription is live.
// 3. catch up: `subscribed` and every message after the client's position are published to the
//    connection's own channel (in order with later live messages, since both pass the proxy's
//    publish path); once the history confirms no message was appended since the last one sent, the
//    skipping ends, and every later message arrives live, once.
import { compareMessageIds, type HistoryStore } from '../history/historyStore.ts';
import { readReplay } from '../history/replay.ts';
import type { ContinuityReset } from '../history/resumePlan.ts';
import { liveChannelFor } from './gripChannels.ts';
import { wsMessageFrame } from './messageFraming.ts';
import { gripControlEvent, type WebSocketEvent } from './websocketEvents.ts';
import type { PendingSubscribe } from './wsSessionState.ts';

export type SubscribeHistory = Pick<HistoryStore, 'beginSubscribe' | 'settleSubscribe' | 'cancelSubscribe' | 'stillInFlight' | 'read'>;

export interface SubscribeLimits {
  /** A subscribe whose barrier has not come back by then fails (and stops skipping the connection). */
  subscribeTimeoutMs: number;
  /** Subscribes in progress at once on one channel (each is named in every message's meta meanwhile). */
  maxConcurrentSubscribes: number;
  /** How long to wait for earlier publishes still on their way to the proxy. */
  inFlightWaitMs: number;
  /** Messages per catch-up round. */
  replayPageSize: number;
  /** Catch-up rounds before the skipping ends even though messages keep arriving (see catchUp). */
  maxCatchUpRounds: number;
}

export const DEFAULT_SUBSCRIBE_LIMITS: SubscribeLimits = {
  subscribeTimeoutMs: 15_000,
  maxConcurrentSubscribes: 200,
  inFlightWaitMs: 5_000,
  replayPageSize: 100,
  maxCatchUpRounds: 20,
};

/** Messages read after a forced settle: what one round appended under a burst, with room to spare. */
const FORCED_SETTLE_READ = 10_000;

/** The prefix of the barrier ping's payload; the pong echoes it. */
export const BARRIER_PREFIX = 'ffsub:';

export function barrierPayload(barrier: number): string {
  return `${BARRIER_PREFIX}${barrier}`;
}

/** The barrier number a pong's payload carries, if it is one of ours. */
export function barrierOfPong(content: Buffer | undefined): number | undefined {
  const text = content?.toString('latin1') ?? '';
  const match = /^ffsub:(\d{1,9})$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** The filter every WebSocket subscription carries, so a subscribe in progress can be skipped. */
export const WS_SUBSCRIPTION_FILTERS = ['skip-users'];

export function subscribeControl(channel: string): WebSocketEvent {
  return gripControlEvent({ type: 'subscribe', channel: liveChannelFor('ws', channel), filters: WS_SUBSCRIPTION_FILTERS });
}

/** The proxy sends this ping after it processed everything before it (send-delayed, flushed at once). */
export function barrierControls(barrier: number): WebSocketEvent[] {
  return [
    gripControlEvent({ type: 'send-delayed', 'message-type': 'ping', content: barrierPayload(barrier), timeout: 1 }),
    gripControlEvent({ type: 'flush-delayed' }),
  ];
}

export type BeginOutcome = { ok: true } | { ok: false; code: 'subscribe_busy'; message: string };

/** Step 1 (see the top of this file). */
export async function beginSubscribe(
  history: SubscribeHistory,
  channel: string,
  user: string,
  limits: SubscribeLimits,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<BeginOutcome> {
  const start = await history.beginSubscribe(channel, user, limits.subscribeTimeoutMs, limits.maxConcurrentSubscribes);
  if (start.busy) {
    return { ok: false, code: 'subscribe_busy', message: `too many subscribes in progress on ${channel}; try again in a moment` };
  }
  let waiting = start.inFlight;
  const deadline = Date.now() + limits.inFlightWaitMs;
  while (waiting.length > 0) {
    if (Date.now() > deadline) {
      await history.cancelSubscribe(channel, user);
      return { ok: false, code: 'subscribe_busy', message: `publishes to the proxy on ${channel} are slow; try again in a moment` };
    }
    await sleep(2);
    waiting = await history.stillInFlight(channel, waiting);
  }
  return { ok: true };
}

export type CatchUpOutcome =
  | { ok: true; lastId: string; delivered: number; rounds: number }
  | { ok: false; message: string };

export interface CatchUpPorts {
  history: SubscribeHistory;
  /** Publishes text frames to this connection only, in order; resolves when the proxy accepted them. */
  sendToConnection(frames: string[]): Promise<void>;
  subscribedFrame(channel: string, lastId: string, reset: ContinuityReset | undefined): string;
}

/**
 * Step 3. The `subscribed` frame names the position the client is at (its `since` when the history
 * continues from it); every message after it follows exactly once, in order, replayed or live.
 * Under a sustained burst on the channel (new messages during every round) the skipping ends after
 * `maxCatchUpRounds` anyway: nothing is lost or doubled then, but the first live messages may overtake
 * the last caught-up ones.
 */
export async function catchUp(ports: CatchUpPorts, pending: PendingSubscribe, user: string, limits: SubscribeLimits): Promise<CatchUpOutcome> {
  const { channel } = pending;
  let cursor: string | undefined;
  let delivered = 0;
  for (let round = 1; ; round++) {
    const replay = await readReplay(ports.history, channel, cursor ?? pending.since, limits.replayPageSize);
    if (cursor !== undefined && replay.plan.reset) {
      await ports.history.cancelSubscribe(channel, user);
      return { ok: false, message: `the history of ${channel} moved past this subscribe; subscribe again with "since"` };
    }
    const frames = replay.messages.map((m) => wsMessageFrame(m));
    if (cursor === undefined) frames.unshift(ports.subscribedFrame(channel, replay.plan.afterId, replay.plan.reset));
    if (frames.length > 0) await ports.sendToConnection(frames);
    delivered += replay.messages.length;
    cursor = replay.upTo;
    if (replay.more) continue;
    const last = round >= limits.maxCatchUpRounds;
    const settle = await ports.history.settleSubscribe(channel, user, last ? undefined : cursor);
    if (settle.outcome === 'lapsed') {
      return { ok: false, message: `the subscribe to ${channel} timed out before the proxy confirmed it; subscribe again` };
    }
    if (settle.outcome === 'settled' && settle.lastId === cursor) return { ok: true, lastId: cursor, delivered, rounds: round };
    if (settle.outcome === 'settled') {
      // Forced after too many rounds: send what was appended up to the settle; later ones arrive live.
      const upToSettle = settle.lastId;
      const rest = (await readReplay(ports.history, channel, cursor, FORCED_SETTLE_READ)).messages.filter(
        (m) => compareMessageIds(m.id, upToSettle) <= 0,
      );
      if (rest.length > 0) await ports.sendToConnection(rest.map((m) => wsMessageFrame(m)));
      return { ok: true, lastId: upToSettle, delivered: delivered + rest.length, rounds: round };
    }
  }
}
