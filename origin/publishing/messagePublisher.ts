// The publish path through the origin: store each message in the history (so reconnecting clients
// recover it), then publish it to every transport on every GRIP target. Used by POST /api/publish and
// by WebSocket client publishes.
//
// Concurrent publishes are coalesced (publishCoalescer.ts decides, this file carries it out): the
// callers waiting at one moment share one history round trip (a Redis pipeline: one script per
// channel, each caller an all-or-nothing segment of it) and proxy requests (bodies under the proxy's
// limit; up to limits.maxFlushesInFlight of them in flight, on disjoint channels), and a lone
// publisher's message goes at once. Each caller is answered exactly as if
// it had published alone: a batch is stored per channel, all or nothing for each channel; when a
// later channel of a caller's batch cannot be stored, what was stored for its earlier ones is still
// published, and the error names exactly those messages, so a caller never has stored-but-unpublished
// messages it does not know about.
import {
  HistoryConflictError,
  HistoryUnavailableError,
  type AppendResult,
  type ChannelAppendResult,
  type ChannelMessage,
  type HistoryStore,
} from '../history/historyStore.ts';
import { itemsForStoredMessage } from './gripItems.ts';
import { ItemTooLargeError, PUBLISH_BODY_LIMIT_BYTES, PublishError, type GripPublisher } from './gripPublisher.ts';
import {
  coalescerStep,
  DEFAULT_COALESCER_LIMITS,
  emptyCoalescerState,
  type ChannelOutcome,
  type CoalescerConfig,
  type CoalescerEvent,
  type CoalescerLimits,
  type JobRef,
  type RequestAnswer,
  type RequestId,
  type SegmentOutcome,
  type SendFlush,
  type StoreRound,
} from './publishCoalescer.ts';
import type { PublishInput } from './publishInput.ts';
import { DEFAULT_PUBLISH_RETRY_POLICY } from './publishRetryPolicy.ts';

export interface PublishedMessage extends ChannelMessage {
  /** A retry of a requested id already stored with the same data: not stored or published again. */
  duplicate: boolean;
  /** The position the message follows on its channel. */
  prevId?: string;
}

/**
 * Which message, without what it says: errors carry these, since errors reach logs, and message data
 * (of private channels too) does not belong there.
 */
export interface StoredMessageRef {
  id: string;
  channel: string;
}

export function refsOf(messages: ReadonlyArray<StoredMessageRef>): StoredMessageRef[] {
  return messages.map((m) => ({ id: m.id, channel: m.channel }));
}

/** Part of a batch could not be stored; `stored` lists what was stored and published before that. */
export class PartialPublishError extends Error {
  override name = 'PartialPublishError';
  readonly stored: StoredMessageRef[];
  constructor(
    override readonly cause: HistoryConflictError | HistoryUnavailableError,
    /** Index (in the whole batch) of the input that could not be stored. */
    readonly index: number,
    stored: ReadonlyArray<StoredMessageRef>,
  ) {
    super(cause.message, { cause });
    this.stored = refsOf(stored);
  }
}

/** The messages were stored (and stay recoverable from history) but the proxy did not take them. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  readonly stored: StoredMessageRef[];
  constructor(stored: ReadonlyArray<StoredMessageRef>, cause: unknown) {
    const gaveUp = cause instanceof PublishError && cause.gaveUp ? ` (${cause.gaveUp})` : '';
    super(`stored ${stored.length} message(s) but publishing failed: ${(cause as Error).message ?? String(cause)}${gaveUp}`, {
      cause,
    });
    this.stored = refsOf(stored);
  }
}

export interface MessagePublisher {
  /** Stores then publishes; returns the messages in input order. */
  publish(inputs: PublishInput[]): Promise<PublishedMessage[]>;
}

/** Inputs grouped by channel in order of first appearance, each with its index in the batch. */
function byChannel(inputs: PublishInput[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  inputs.forEach((input, index) => {
    const group = groups.get(input.channel);
    if (group) group.push(index);
    else groups.set(input.channel, [index]);
  });
  return groups;
}

/** What the binding keeps of a stored job: what the store answered, and its items serialised once. */
interface StoredJob {
  channel: string;
  /** The job's inputs' indexes in its request. */
  indexes: number[];
  result: AppendResult;
  /** Each item's JSON, as it goes into a request body. */
  items: string[];
}

interface PendingRequest {
  inputs: PublishInput[];
  jobs: Array<{ channel: string; indexes: number[] }>;
  resolve(messages: PublishedMessage[]): void;
  reject(error: unknown): void;
}

export interface MessagePublisherOptions {
  limits?: Partial<CoalescerLimits>;
  /** A caller hears within this long (from when its request was accepted) that the proxy did not take its messages. */
  publishDeadlineMs?: number;
  now?: () => number;
  /** Metrics: a store round started (how many channel calls, callers' jobs), a request body sent. */
  observe?: { round?(channels: number, jobs: number): void; request?(items: number): void };
}

export function createMessagePublisher(history: HistoryStore, grip: GripPublisher, options: MessagePublisherOptions = {}): MessagePublisher {
  const now = options.now ?? Date.now;
  const publishDeadlineMs = options.publishDeadlineMs ?? DEFAULT_PUBLISH_RETRY_POLICY.deadlineMs;
  const config: CoalescerConfig<unknown> = {
    limits: { ...DEFAULT_COALESCER_LIMITS, bodyLimitBytes: PUBLISH_BODY_LIMIT_BYTES, ...options.limits },
    gateTimeoutError: (channel, waitedMs) => new HistoryUnavailableError(`appends on ${channel} stayed held for ${waitedMs} ms`),
  };
  const state = emptyCoalescerState<StoredJob, unknown>();
  const pending = new Map<RequestId, PendingRequest>();
  let nextRequest = 1;
  /** Every `landed` call so far: an answer is given once its messages are no longer in flight. */
  let landedSoFar: Promise<void> = Promise.resolve();

  const inputsOf = (ref: JobRef): PublishInput[] => {
    const request = pending.get(ref.request)!;
    return request.jobs[ref.job]!.indexes.map((i) => request.inputs[i]!);
  };

  const storedJob = (ref: JobRef, channel: string, result: AppendResult): SegmentOutcome<StoredJob, unknown> => {
    const inputs = inputsOf(ref);
    const items: string[] = [];
    result.messages.forEach((m, i) => {
      if (m.duplicate) return;
      const { dataJson, skipUser } = inputs[i]!;
      const skipUsers = skipUser === undefined ? result.skipUsers : [...result.skipUsers, skipUser];
      const options = dataJson === undefined ? { skipUsers } : { skipUsers, dataJson };
      for (const item of itemsForStoredMessage(m.message, m.prevId, options)) items.push(JSON.stringify(item));
    });
    return {
      stored: true,
      itemBytes: items.map((item) => Buffer.byteLength(item)),
      payload: { channel, indexes: pending.get(ref.request)!.jobs[ref.job]!.indexes, result, items },
    };
  };

  const runRound = async (round: StoreRound): Promise<void> => {
    options.observe?.round?.(round.channels.length, round.channels.reduce((n, c) => n + c.jobs.length, 0));
    let results: ChannelAppendResult[] | undefined;
    let unexpected: unknown;
    try {
      results = await history.appendChannels(round.channels.map(({ channel, jobs }) => ({ channel, segments: jobs.map(inputsOf) })));
    } catch (error) {
      unexpected = error;
    }
    const outcomes = round.channels.map(({ channel, jobs }, c): ChannelOutcome<StoredJob, unknown> => {
      const result = results?.[c];
      if (!result) return { status: 'failed', error: unexpected ?? new Error(`the history store gave no answer for ${channel}`) };
      if (result.status !== 'done') return result;
      return {
        status: 'done',
        segments: jobs.map((ref, s) => {
          const segment = result.segments[s]!;
          return segment.ok ? storedJob(ref, channel, segment.result) : { stored: false, error: segment.error, input: segment.error.index };
        }),
      };
    });
    dispatch({ type: 'stored', round: round.round, outcomes, now: now() });
  };

  const runFlush = async (flush: SendFlush): Promise<void> => {
    const deadlineMs = flush.oldestAcceptedAt + publishDeadlineMs - now();
    const bodies: Array<{ ok: true } | { ok: false; error: unknown }> = [];
    /** Jobs with items in a request the proxy did not answer in time: it may still deliver them. */
    const unanswered = new Set<string>();
    const keyOf = (ref: JobRef) => `${ref.request}/${ref.job}`;
    for (const body of flush.bodies) {
      const parts: string[] = [];
      for (const { job, from, to } of body.slices) {
        const items = jobPayload(job).items;
        for (let i = from; i < to; i++) parts.push(items[i]!);
      }
      options.observe?.request?.(body.items);
      const onUnanswered = () => {
        for (const { job } of body.slices) unanswered.add(keyOf(job));
      };
      try {
        await grip.publishEncoded([{ body: `{"items":[${parts.join(',')}]}`, items: body.items }], { deadlineMs, onUnanswered });
        bodies.push({ ok: true });
      } catch (error) {
        bodies.push({ ok: false, error });
        break;
      }
    }
    // Answered by the proxy (taken or refused), or never sent: no longer in flight (a failure is
    // recovered from history). A job in a request the proxy did not answer in time stays in flight
    // until the history's in-flight TTL: the proxy may still deliver that request (a late attempt
    // after a retry was taken, or after the publish gave up), and a WebSocket subscribe that began
    // meanwhile must not be live by then (it would get messages from before its position). Its
    // caller's answer is the same either way, and given now.
    const landed = flush.jobs.flatMap((ref) => {
      if (unanswered.has(keyOf(ref))) return [];
      const job = jobPayload(ref);
      const ids = job.result.messages.filter((m) => !m.duplicate).map((m) => m.message.id);
      return ids.length > 0 ? [{ channel: job.channel, ids }] : [];
    });
    // Chained to undefined: a Promise.all chain would nest every earlier result, growing without end.
    if (landed.length > 0) landedSoFar = Promise.all([landedSoFar, history.landedChannels(landed).catch(() => {})]).then(() => undefined);
    dispatch({ type: 'sent', flush: flush.flush, bodies });
  };

  /** Stored jobs are looked up through the engine's state: it holds their payloads until answered. */
  const jobPayload = (ref: JobRef): StoredJob => state.requests.get(ref.request)!.jobs[ref.job]!.payload!;

  const settle = (id: RequestId, answer: RequestAnswer<StoredJob, unknown>): void => {
    const request = pending.get(id)!;
    pending.delete(id);
    const results: PublishedMessage[] = new Array(request.inputs.length);
    for (const job of answer.stored) {
      job.result.messages.forEach((m, i) => (results[job.indexes[i]!] = { ...m.message, duplicate: m.duplicate, prevId: m.prevId }));
    }
    const stored = results.filter((r) => r !== undefined);
    let outcome: { ok: true; messages: PublishedMessage[] } | { ok: false; error: unknown };
    if (answer.ok) outcome = { ok: true, messages: stored };
    else if (answer.kind === 'delivery') outcome = { ok: false, error: new DeliveryError(stored, answer.error) };
    else if (answer.kind === 'too-large') outcome = { ok: false, error: new DeliveryError(stored, new ItemTooLargeError(answer.channel, answer.bytes)) };
    else if (answer.error instanceof HistoryConflictError || answer.error instanceof HistoryUnavailableError) {
      const indexes = request.jobs[answer.job]!.indexes;
      const index = answer.error instanceof HistoryConflictError ? indexes[answer.input ?? answer.error.index]! : indexes[0]!;
      outcome = { ok: false, error: new PartialPublishError(answer.error, index, stored) };
    } else {
      // Not a store failure (a bug): it surfaces as it is.
      outcome = { ok: false, error: answer.error };
    }
    void landedSoFar.then(() => (outcome.ok ? request.resolve(outcome.messages) : request.reject(outcome.error)));
  };

  let tickScheduled = false;
  const tick = (): void => {
    tickScheduled = false;
    dispatch({ type: 'tick' });
  };

  function dispatch(event: CoalescerEvent<StoredJob, unknown>): void {
    const out = coalescerStep(state, config, event);
    for (const { request, answer } of out.answers) settle(request, answer);
    if (out.store) void runRound(out.store);
    for (const flush of out.sends) void runFlush(flush);
    for (const { channel, retryInMs } of out.gated) {
      // Asked again soon (gates last a catch-up round, and may end early): at most every 5 ms.
      setTimeout(() => dispatch({ type: 'reopened', channel }), Math.max(1, Math.min(retryInMs, 5)));
    }
    // What can start starts at the end of this event-loop turn: every publish that arrived in it
    // (requests read in the same I/O poll) goes in the same round and flush. No timer: nothing waits
    // longer than the turn.
    if (event.type !== 'tick' && !tickScheduled) {
      tickScheduled = true;
      setImmediate(tick);
    }
  }

  return {
    publish(inputs) {
      if (inputs.length === 0) return Promise.resolve([]);
      return new Promise<PublishedMessage[]>((resolve, reject) => {
        const id = nextRequest++;
        const jobs = [...byChannel(inputs)].map(([channel, indexes]) => ({ channel, indexes }));
        pending.set(id, { inputs, jobs, resolve, reject });
        dispatch({ type: 'accepted', request: id, jobs: jobs.map((j) => ({ channel: j.channel, inputs: j.indexes.length })), now: now() });
      });
    },
  };
}
