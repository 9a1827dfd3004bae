// A WebSocket subscribe with no window in which a message can be missed, doubled or reordered.
//
// Pushpin (and Fanout) apply a subscription a moment after relaying the frames of the response that
// asked for it; messages published in that moment would be missed, and WebSocket items have no
// prev-id check to notice. Pushpin also drops a published WebSocket message when the client's buffer
// is full at that moment (a catch-up published as a burst loses frames), while frames of an answer
// to a WebSocket-over-HTTP request wait for room. So a subscribe goes:
// 1. begin: the history records the connection as subscribing (from now on every message appended on
//    the channel names it in the skip-users meta of its WebSocket item, so it never reaches it live);
//    publishes still in flight up to that position are awaited (they cannot name it, so they must be
//    delivered before the subscription exists); the answer subscribes it, with the skip-users filter,
//    and ends with a barrier: a ping the proxy sends only after it applied the subscription and wrote
//    the frames before it; the client's pong comes back as a PONG event.
// 2. catch-up rounds, one per barrier: the answer to the pong carries `subscribed` (the first time)
//    and the next messages after the client's position, a few KB at a time, then a new barrier. Its
//    pong proves the client has them all.
// 3. at a pong, once the retained messages are all sent, the skipping ends if no message was
//    appended since the last one sent; otherwise another round. On a busy channel, after a few such
//    pongs its appends are held for one round (they wait, nothing is refused), so the catch-up always
//    ends. From then on every message reaches the connection live, after everything it was sent.
import type { GateOutcome, HistoryStore } from '../history/historyStore.ts';
import { readReplay, replayPage } from '../history/replay.ts';
import { liveChannelFor } from '../channels/gripChannels.ts';
import { wsMessageFrame, type ContinuityReset } from '../../protocol/index.ts';
import { gripControlEvent, type WebSocketEvent } from './websocketEvents.ts';
import type { PendingSubscribe } from './wsSessionState.ts';

export type SubscribeHistory = Pick<
  HistoryStore,
  'beginSubscribe' | 'settleSubscribe' | 'cancelSubscribe' | 'stillInFlight' | 'read' | 'gateAppends' | 'ungateAppends'
>;

export interface SubscribeLimits {
  /**
   * A subscribe with no progress (no pong of its barrier) for this long fails, and stops skipping the
   * connection: the history keeps the skipping this long after each round, so nothing is acted on
   * later than this (less LAPSE_MARGIN_MS) after its last progress.
   */
  subscribeTimeoutMs: number;
  /** With no pong for this long, the next request sends the subscribe's barrier again (once). */
  barrierResendMs: number;
  /** Subscribes in progress at once on one channel (each is named in every message's meta meanwhile). */
  maxConcurrentSubscribes: number;
  /** How long to wait for earlier publishes still on their way to the proxy. */
  inFlightWaitMs: number;
  /** Messages read per catch-up round, at most. */
  replayPageSize: number;
  /**
   * Bytes of messages in the first catch-up round (at least one message), doubling each round up to
   * maxRoundBytes: a short catch-up stays small, so it never fills the client's buffer in the proxy
   * (Pushpin's client_buffer_size, 8 KiB by default), where it would push out live messages of the
   * connection's other channels; a long one still ends in a few round trips.
   */
  roundBytes: number;
  maxRoundBytes: number;
  /** Pongs that found new messages appended since the last round before the channel's appends are held. */
  roundsBeforeGate: number;
  /** How long appends may be held: a round takes one round trip to the client. */
  gateTtlMs: number;
  /**
   * After a gate, none on the channel for this long: a client can ask for gates (by answering its
   * barriers slowly), so they hold a channel's appends at most gateTtlMs in every gateTtlMs + this.
   */
  gateCooldownMs: number;
  /**
   * A subscribe with no progress for this long makes room when the channel is at
   * maxConcurrentSubscribes: clients that never answer their barriers cannot lock others out.
   */
  staleSubscribeMs: number;
  /** Rounds after which a catch-up gives up (the client may subscribe again). */
  maxRounds: number;
}

export const DEFAULT_SUBSCRIBE_LIMITS: SubscribeLimits = {
  subscribeTimeoutMs: 30_000,
  barrierResendMs: 10_000,
  maxConcurrentSubscribes: 200,
  inFlightWaitMs: 5_000,
  replayPageSize: 100,
  roundBytes: 4096,
  maxRoundBytes: 262_144,
  roundsBeforeGate: 3,
  gateTtlMs: 1000,
  gateCooldownMs: 9000,
  staleSubscribeMs: 3000,
  maxRounds: 1000,
};

/** Pushpin drops a connection whose WebSocket-over-HTTP answer is over 1,000,000 bytes. */
export const WS_ANSWER_LIMIT_BYTES = 1_000_000;
/**
 * What the catch-up rounds of one answer may take together (every pending subscribe shares it). Well
 * under the limit above: Pushpin's WebSocket-over-HTTP side holds a client frame (a pong, a publish)
 * while more than 200,000 bytes of answers wait to go to the client, until another client frame or a
 * keep-alive comes (websocketoverhttp.cpp: BUFFER_SIZE, canReceive(); readFrame() does not re-check),
 * so an answer stays below that.
 */
export const ANSWER_CATCH_UP_BUDGET_BYTES = 150_000;
/**
 * While a subscribe is in progress the connection calls the origin at least this often when idle
 * (Keep-Alive-Interval; Pushpin's minimum is 20 s): a pong held by the proxy comes with that request,
 * and a barrier that was lost is sent again in its answer (recoverStalled in wsSession.ts). Without it
 * a connection whose pong went missing would wait for the client's next frame, which may never come.
 */
export const CATCH_UP_KEEP_ALIVE_SECONDS = 20;
/**
 * While a subscribe is in progress, Pushpin sends an idle client an unsolicited pong this often (the
 * connection's keep-alive is put back after). Pushpin 1.36's proxy can stop writing to a WebSocket
 * client mid-answer: when the client's credits come back while nothing is queued for it, nothing tells
 * the proxy it may write again (zwebsocket.cpp, fixed in 1.38 by 335135bf "base writeBytesAvailable on
 * credits and emit signal when changed"), until something else is written to the client. A catch-up
 * stalled so for 24 s (until the 25 s keep-alive) in a debug trace; this bounds it to a few seconds.
 */
export const CATCH_UP_CLIENT_KEEP_ALIVE_SECONDS = 3;
/**
 * A subscribe is acted on only this long short of subscribeTimeoutMs after its last progress: the
 * skipping the history keeps for it must still be there (a round after it lapsed could send a message
 * the connection also got live). Room for clock skew between origins sharing Redis.
 */
export const LAPSE_MARGIN_MS = 2_000;
/**
 * A round takes at least one message, which may be as large as Fanout's 64 KiB publish limit once
 * framed: with less room than this left in the answer, a subscribe waits for the next one.
 */
export const MIN_ROUND_ROOM_BYTES = 70_000;
/** What one frame adds to the encoded answer besides its text (`TEXT <hex>\r\n`, `m:`, `\r\n`). */
export const FRAME_ENCODING_BYTES = 16;

/** A connection's barrier pings: their payloads, and which barrier a pong answers (only ours count). */
export interface BarrierPayloads {
  payload(barrier: number): string;
  of(content: Buffer | undefined): number | undefined;
}

/** The filter every WebSocket subscription carries, so a subscribe in progress can be skipped. */
export const WS_SUBSCRIPTION_FILTERS = ['skip-users'];

export function subscribeControl(channel: string): WebSocketEvent {
  return gripControlEvent({ type: 'subscribe', channel: liveChannelFor('ws', channel), filters: WS_SUBSCRIPTION_FILTERS });
}

/**
 * The proxy sends this ping once it has processed everything before it in the answer (the frames are
 * written to the client first; send-delayed, flushed at once, goes through Pushpin's handler after
 * the subscription).
 */
export function barrierControls(payload: string): WebSocketEvent[] {
  return [
    gripControlEvent({ type: 'send-delayed', 'message-type': 'ping', content: payload, timeout: 1 }),
    gripControlEvent({ type: 'flush-delayed' }),
  ];
}

const IN_FLIGHT_MAX_PAUSE_MS = 100;

export type BeginOutcome = { ok: true } | { ok: false; code: 'subscribe_busy'; message: string };

/** Step 1 (see the top of this file). */
export async function beginSubscribe(
  history: SubscribeHistory,
  channel: string,
  user: string,
  limits: SubscribeLimits,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<BeginOutcome> {
  const start = await history.beginSubscribe(channel, user, limits.subscribeTimeoutMs, limits.maxConcurrentSubscribes, limits.staleSubscribeMs);
  if (start.busy) {
    return { ok: false, code: 'subscribe_busy', message: `too many subscribes in progress on ${channel}; try again in a moment` };
  }
  let waiting = start.inFlight;
  const deadline = Date.now() + limits.inFlightWaitMs;
  // A publish in flight usually lands within milliseconds; one the proxy did not answer in time stays
  // in flight up to the in-flight TTL: look again soon, then back off (each look is a store round trip).
  let pauseMs = 2;
  while (waiting.length > 0) {
    if (Date.now() > deadline) {
      await history.cancelSubscribe(channel, user);
      return { ok: false, code: 'subscribe_busy', message: `publishes to the proxy on ${channel} are slow; try again in a moment` };
    }
    await sleep(pauseMs);
    pauseMs = Math.min(pauseMs * 2, IN_FLIGHT_MAX_PAUSE_MS);
    waiting = await history.stillInFlight(channel, waiting);
  }
  return { ok: true };
}

export type RoundOutcome =
  /** The skipping ended: the subscription is live. */
  | { kind: 'live'; lastId: string }
  /** Send these frames, then a barrier; `pending` is the subscribe's state until its pong. */
  | { kind: 'frames'; frames: string[]; pending: PendingSubscribe; delivered: number; bytes: number }
  | { kind: 'failed'; message: string };

export interface RoundContext {
  history: SubscribeHistory;
  user: string;
  limits: SubscribeLimits;
  now: number;
  /** Room left in the answer (bytes, encoding included); the round takes at least one message all the same. */
  roomBytes: number;
  /** What a request for a gate came to (metrics). */
  onGate?(outcome: GateOutcome): void;
  subscribedFrame(channel: string, lastId: string, reset: ContinuityReset | undefined): string;
}

/**
 * Steps 2 and 3, at the pong of the subscribe's latest barrier: end the skipping if nothing was
 * appended since the last message sent, else send the next round. `subscribed` names the position the
 * client is at (its `since` when the history continues from it); every message after it follows
 * exactly once, in order, caught up or live.
 */
export async function catchUpRound(context: RoundContext, pending: PendingSubscribe): Promise<RoundOutcome> {
  const { history, user, limits } = context;
  const { channel } = pending;
  let gated = pending.gated;
  const fail = async (message: string): Promise<RoundOutcome> => {
    if (gated) await history.ungateAppends(channel);
    return { kind: 'failed', message };
  };
  let behind = pending.behind;
  if (pending.cursor !== undefined && !pending.more) {
    const settle = await history.settleSubscribe(channel, user, pending.cursor);
    if (settle.outcome === 'settled') {
      if (gated) await history.ungateAppends(channel);
      return { kind: 'live', lastId: settle.lastId };
    }
    if (settle.outcome === 'lapsed') return fail(`the subscribe to ${channel} timed out; subscribe again`);
    behind++;
  }
  if (pending.rounds >= limits.maxRounds) return fail(`the subscribe to ${channel} could not catch up with its messages; subscribe again`);
  if (!gated && behind >= limits.roundsBeforeGate) {
    // New messages before every pong: hold the channel's appends, so the next pong finds none. Only
    // the subscribe that started the gate ends it; one that joined another's, or was refused while
    // the channel cools down, goes on with rounds (the next gate it may start comes later).
    const outcome = await history.gateAppends(channel, limits.gateTtlMs, limits.gateCooldownMs);
    context.onGate?.(outcome);
    gated = outcome === 'gated';
  }
  // Keep the skipping alive for the rounds to come.
  if (!(await renewSkipping(history, channel, user, limits))) return fail(`the subscribe to ${channel} could not be renewed; subscribe again`);
  const replay = await readReplay(history, channel, pending.cursor ?? pending.since, limits.replayPageSize);
  if (pending.cursor !== undefined && replay.plan.reset) {
    return fail(`the history of ${channel} moved past this subscribe; subscribe again with "since"`);
  }
  // Each names the position before it: the read's for the first, so the chain continues the client's.
  const frames = new Map(replay.messages.map((m, i) => [m.id, wsMessageFrame(m, undefined, i === 0 ? replay.plan.afterId : replay.messages[i - 1]!.id)]));
  const budget = Math.min(limits.roundBytes * 2 ** Math.min(pending.rounds, 20), limits.maxRoundBytes, context.roomBytes);
  const frameBytes = (frame: string) => Buffer.byteLength(frame) + FRAME_ENCODING_BYTES;
  const { page, complete } = replayPage(replay.messages, (m) => frameBytes(frames.get(m.id)!), budget);
  const out = page.map((m) => frames.get(m.id)!);
  if (pending.cursor === undefined) out.unshift(context.subscribedFrame(channel, replay.plan.afterId, replay.plan.reset));
  const cursor = complete ? replay.upTo : page.at(-1)!.id;
  return {
    kind: 'frames',
    frames: out,
    delivered: page.length,
    bytes: out.reduce((sum, frame) => sum + frameBytes(frame), 0),
    pending: { ...progressed(pending), cursor, more: !complete || replay.more, rounds: pending.rounds + 1, behind, gated, startedMs: context.now },
  };
}

/** A subscribe that moved on: a barrier sent again before counts no more. */
export function progressed({ resent: _resent, ...pending }: PendingSubscribe): PendingSubscribe {
  return pending;
}

/** The history goes on skipping the connection for subscribeTimeoutMs from now; false if it refused. */
export async function renewSkipping(history: SubscribeHistory, channel: string, user: string, limits: SubscribeLimits): Promise<boolean> {
  const renewed = await history.beginSubscribe(channel, user, limits.subscribeTimeoutMs, Number.MAX_SAFE_INTEGER);
  return !renewed.busy;
}

/** Whether the history's skipping for this subscribe may have lapsed: it must not be acted on any more. */
export function mayHaveLapsed(pending: PendingSubscribe, now: number, limits: SubscribeLimits): boolean {
  return now - pending.startedMs >= limits.subscribeTimeoutMs - LAPSE_MARGIN_MS;
}

/**
 * A subscribe whose barrier has had no pong for barrierResendMs: renew its skipping so the barrier can
 * be sent again (the caller gives it a new one); 'fail' when it was sent again already with no pong
 * since, or may have lapsed.
 */
export async function resendBarrier(
  history: SubscribeHistory,
  pending: PendingSubscribe,
  user: string,
  limits: SubscribeLimits,
  now: number,
): Promise<'resend' | 'wait' | 'fail'> {
  if (mayHaveLapsed(pending, now, limits)) return 'fail';
  if (now - pending.startedMs < limits.barrierResendMs) return 'wait';
  if (pending.resent) return 'fail';
  return (await renewSkipping(history, pending.channel, user, limits)) ? 'resend' : 'fail';
}

/** Undoes what a subscribe in progress holds in the history (the skipping, a gate). */
export async function abandonSubscribe(history: SubscribeHistory, pending: PendingSubscribe, user: string): Promise<void> {
  await history.cancelSubscribe(pending.channel, user).catch(() => {});
  if (pending.gated) await history.ungateAppends(pending.channel).catch(() => {});
}
