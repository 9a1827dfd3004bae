// The decisions of the coalescing publish path, pure: which stored-and-published work waits, which
// goes together, and what each caller is answered. A function of (state, event); the binding
// (coalescingPublisher.ts) carries out what it returns against the history store and the proxy, and
// feeds the outcomes back as events.
//
// A caller's request is split into jobs, one per channel in order of first appearance. Two stages run
// side by side:
// - store rounds, one in flight at a time: every job that may be stored now goes into one round (one Redis pipeline: a script per
//   channel, the callers' jobs as separate all-or-nothing segments of it, in acceptance order). A job
//   may be stored when its caller's earlier channels are stored (a failure stops the caller, as the
//   sequential path did) and no earlier job waits on its channel (ids follow acceptance order).
// - send flushes, up to limits.maxFlushesInFlight at a time, on disjoint sets of channels: a flush
//   takes the stored jobs (whose callers finished storing) of channels not in a flush in flight, in id
//   order per channel, about one request body's worth (a channel that needs more goes alone, in bodies
//   under the proxy's limit sent one after the other). A channel is in at most one flush in flight, so
//   its items reach the proxy in id order; the next group of a channel waits for the earlier one's
//   answer while other channels' flushes go out beside it. Meant to keep the proxy busy (Pushpin
//   answers a publish only once it has delivered its items, so one request at a time leaves it idle
//   between an answer and the next request); by default 1, see DEFAULT_FLUSHES_IN_FLIGHT.
// Nothing waits on a timer: a stage starts as soon as it is idle and has work (on `tick`, which the
// binding sends at the end of the event-loop turn in which something happened, so everything that
// arrived in that turn goes together), so a lone publisher's message is stored and sent at once, and
// what arrives meanwhile rides in the next batch.

export type RequestId = number;

/** A job: the inputs of one request on one channel (`job` is its index in the request). */
export interface JobRef {
  request: RequestId;
  job: number;
}

export interface CoalescerLimits {
  /** A request body's byte limit (the proxy's publish limit). */
  bodyLimitBytes: number;
  /** Bytes of a body around its items (`{"items":[]}`). */
  bodyEnvelopeBytes: number;
  maxItemsPerBody: number;
  /** A round takes jobs until it holds this many inputs (always at least one job). */
  maxInputsPerRound: number;
  /** A channel whose appends stay held (gated) longer than this fails its jobs. */
  gateWaitLimitMs: number;
  /** Flushes (proxy requests, one body each unless one channel needs more) in flight at once; at least 1. */
  maxFlushesInFlight: number;
}

/**
 * The default of PUBLISH_REQUESTS_IN_FLIGHT: one at a time. Measured against the local Pushpin 1.36 on
 * 2 shared cores (chat bench, 200 channels x 10 subscribers x 5 msg/s, runs back to back), more in
 * flight took fewer publishes a second (1: 670, 2: 605, 4: 462 and 554, 8: 389): a flush then carries
 * fewer items, and every proxy request costs the origin and Pushpin's one handler thread a
 * connection and a parse, while the handler was not the busy part. More may pay where a request's
 * round trip is long (Fastly's publish API over the network); not measured.
 */
export const DEFAULT_FLUSHES_IN_FLIGHT = 1;

export const DEFAULT_COALESCER_LIMITS: CoalescerLimits = {
  bodyLimitBytes: 65536,
  bodyEnvelopeBytes: '{"items":[]}'.length,
  maxItemsPerBody: 1000,
  maxInputsPerRound: 5000,
  gateWaitLimitMs: 2000,
  maxFlushesInFlight: DEFAULT_FLUSHES_IN_FLIGHT,
};

/** What storing one job came to. `S` is what the binding keeps of a stored job, `E` its errors. */
export type SegmentOutcome<S, E> =
  /** Stored (or recognised as duplicates): `itemBytes` are the sizes of its items in a request body, in order. */
  | { stored: true; itemBytes: number[]; payload: S }
  /** Not stored (a conflict): nothing of the job was stored. `input`: the offending input, within the job. */
  | { stored: false; error: E; input?: number };

/** What one channel's call in a round came to, its jobs' segments in the order they were given. */
export type ChannelOutcome<S, E> =
  | { status: 'done'; segments: Array<SegmentOutcome<S, E>> }
  /** The channel's appends are held (a subscribe's gate): nothing was stored; try again after `retryInMs`. */
  | { status: 'gated'; retryInMs: number }
  /** The store failed for the whole call: every job of it fails with `error`. */
  | { status: 'failed'; error: E };

export type CoalescerEvent<S, E> =
  /** A request, its jobs' channels in order of first appearance and how many inputs each holds. */
  | { type: 'accepted'; request: RequestId; jobs: Array<{ channel: string; inputs: number }>; now: number }
  /** The round in flight finished, its channels' outcomes in the order of the round's `channels`. */
  | { type: 'stored'; round: number; outcomes: Array<ChannelOutcome<S, E>>; now: number }
  /** A gated channel may be tried again. */
  | { type: 'reopened'; channel: string }
  /** Flush `flush` finished: each body sent (`ok`) or not (`error`; later bodies of it are not sent). */
  | { type: 'sent'; flush: number; bodies: Array<{ ok: true } | { ok: false; error: E }> }
  /** Start what can start now: a store round when none is in flight, flushes up to the limit. */
  | { type: 'tick' };

/** One channel's call in a store round: the jobs are its segments, in acceptance order. */
export interface RoundChannel {
  channel: string;
  jobs: JobRef[];
}

export interface StoreRound {
  round: number;
  channels: RoundChannel[];
}

/** A run of one job's items (`from` inclusive, `to` exclusive) inside a body. */
export interface BodySlice {
  job: JobRef;
  from: number;
  to: number;
}

export interface SendFlush {
  flush: number;
  /** The channels of its jobs: none of them is in another flush in flight. */
  channels: string[];
  /** Request bodies in sending order, each under the body limit. */
  bodies: Array<{ slices: BodySlice[]; items: number; bytes: number }>;
  /** Every job of the flush (items or none), in flush order. */
  jobs: JobRef[];
  /** When the oldest request of the flush was accepted: its publish deadline counts from then. */
  oldestAcceptedAt: number;
}

export type RequestAnswer<S, E> =
  /** Stored and taken by the proxy: the payloads of its jobs, in job order. */
  | { ok: true; stored: S[] }
  /** Stored (all of `stored`) but some bodies did not reach the proxy. */
  | { ok: false; kind: 'delivery'; error: E; stored: S[] }
  /** Job `job` could not be stored (`input` within it, for a conflict); `stored` were stored and sent. */
  | { ok: false; kind: 'store'; error: E; job: number; input?: number; stored: S[] }
  /** Job `job` has an item the proxy cannot take whatever the batch: `bytes` over the limit. */
  | { ok: false; kind: 'too-large'; job: number; channel: string; bytes: number; stored: S[] };

export interface CoalescerOutput<S, E> {
  store?: StoreRound;
  /** Flushes to start now, on disjoint channels (and disjoint from those in flight). */
  sends: SendFlush[];
  answers: Array<{ request: RequestId; answer: RequestAnswer<S, E> }>;
  /** Channels found gated in this step: send `reopened` for each after its `retryInMs`. */
  gated: Array<{ channel: string; retryInMs: number }>;
}

type JobPhase = 'waiting' | 'storing' | 'stored' | 'sending' | 'delivered' | 'undelivered' | 'failed' | 'cancelled';

interface JobState<S, E> {
  channel: string;
  inputs: number;
  phase: JobPhase;
  payload?: S;
  itemBytes?: number[];
  error?: E;
}

interface RequestState<S, E> {
  acceptedAt: number;
  jobs: Array<JobState<S, E>>;
  /** The job to store next (all before it are stored). */
  next: number;
  /** Set when a job could not be stored: the request stores nothing more. */
  stopped?: { job: number; error: E; input?: number };
  /** Set when an item of a stored job cannot fit any body. */
  tooLarge?: { job: number; bytes: number };
  /** A body holding its items did not reach the proxy. */
  undelivered?: E;
}

export interface CoalescerState<S, E> {
  requests: Map<RequestId, RequestState<S, E>>;
  /** Per channel, the jobs not stored yet, in acceptance order. */
  waiting: Map<string, JobRef[]>;
  /** Per channel, stored jobs not sent yet, in id order. */
  unsent: Map<string, JobRef[]>;
  /** Channels whose appends are held: not tried again before `reopened`. `since`: first found held. */
  gated: Map<string, { since: number; reopened: boolean }>;
  storing?: StoreRound;
  /** Flushes in flight, by number. */
  sending: Map<number, SendFlush>;
  /** The channels of the flushes in flight. */
  sendingChannels: Set<string>;
  nextRound: number;
  nextFlush: number;
}

export function emptyCoalescerState<S, E>(): CoalescerState<S, E> {
  return {
    requests: new Map(),
    waiting: new Map(),
    unsent: new Map(),
    gated: new Map(),
    sending: new Map(),
    sendingChannels: new Set(),
    nextRound: 1,
    nextFlush: 1,
  };
}

export interface CoalescerConfig<E> {
  limits: CoalescerLimits;
  /** The error of jobs on a channel held for longer than limits.gateWaitLimitMs. */
  gateTimeoutError: (channel: string, waitedMs: number) => E;
}

function jobOf<S, E>(state: CoalescerState<S, E>, ref: JobRef): JobState<S, E> {
  return state.requests.get(ref.request)!.jobs[ref.job]!;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function removeFrom<K>(map: Map<K, JobRef[]>, key: K, ref: JobRef): void {
  const list = map.get(key);
  if (!list) return;
  const at = list.findIndex((r) => r.request === ref.request && r.job === ref.job);
  if (at >= 0) list.splice(at, 1);
  if (list.length === 0) map.delete(key);
}

/** A job may be stored now: it is its request's next one, and the request has not stopped. */
function storable<S, E>(state: CoalescerState<S, E>, ref: JobRef): boolean {
  const request = state.requests.get(ref.request)!;
  return request.stopped === undefined && request.next === ref.job && request.jobs[ref.job]!.phase === 'waiting';
}

/** The request stores nothing more (all stored, or stopped): its stored jobs may be sent. */
function doneStoring<S, E>(request: RequestState<S, E>): boolean {
  return request.stopped !== undefined || request.next >= request.jobs.length;
}

function planRound<S, E>(state: CoalescerState<S, E>, limits: CoalescerLimits): StoreRound | undefined {
  const channels: RoundChannel[] = [];
  let inputs = 0;
  for (const [channel, queue] of state.waiting) {
    const gate = state.gated.get(channel);
    if (gate && !gate.reopened) continue;
    const jobs: JobRef[] = [];
    // The storable prefix: a job that must wait holds every later one on its channel.
    for (const ref of queue) {
      if (!storable(state, ref)) break;
      const size = jobOf(state, ref).inputs;
      if ((channels.length > 0 || jobs.length > 0) && inputs + size > limits.maxInputsPerRound) break;
      jobs.push(ref);
      inputs += size;
    }
    if (jobs.length > 0) channels.push({ channel, jobs });
    if (inputs >= limits.maxInputsPerRound) break;
  }
  if (channels.length === 0) return undefined;
  for (const { jobs } of channels) for (const ref of jobs) jobOf(state, ref).phase = 'storing';
  return { round: state.nextRound++, channels };
}

/** The item sizes of a job that go in bodies: an item that cannot fit even alone goes in none. */
function oversizedAt(sizes: number[], limits: CoalescerLimits): number {
  return sizes.findIndex((bytes) => bytes + 1 + limits.bodyEnvelopeBytes > limits.bodyLimitBytes);
}

/**
 * A flush: per channel not in a flush in flight, the stored jobs whose requests finished storing, up
 * to the first that has not (it holds the later ones: items of a channel reach the proxy in id order).
 * Channels are taken in the order their work arrived while their items fit the first body; the first
 * channel that would not fit ends the flush (it goes first in the next), unless the flush has no item
 * yet: then that channel goes alone, in as many bodies as it needs. Items are packed in bodies
 * greedily, in that order; an item that cannot fit even alone fails its request.
 */
function planFlush<S, E>(state: CoalescerState<S, E>, limits: CoalescerLimits): SendFlush | undefined {
  const jobs: JobRef[] = [];
  const channels: string[] = [];
  const bodies: SendFlush['bodies'] = [];
  let current: SendFlush['bodies'][number] = { slices: [], items: 0, bytes: limits.bodyEnvelopeBytes };
  const close = () => {
    if (current.items > 0) bodies.push(current);
    current = { slices: [], items: 0, bytes: limits.bodyEnvelopeBytes };
  };
  let oldestAcceptedAt = Number.POSITIVE_INFINITY;
  for (const [channel, queue] of state.unsent) {
    if (state.sendingChannels.has(channel)) continue;
    const ready: JobRef[] = [];
    let items = 0;
    let bytes = 0;
    for (const ref of queue) {
      const request = state.requests.get(ref.request)!;
      if (!doneStoring(request)) break;
      ready.push(ref);
      const sizes = request.jobs[ref.job]!.itemBytes ?? [];
      if (oversizedAt(sizes, limits) >= 0) continue;
      items += sizes.length;
      for (const size of sizes) bytes += size + 1;
    }
    if (ready.length === 0) continue;
    const flushHasItems = bodies.length > 0 || current.items > 0;
    if (flushHasItems && items > 0 && (current.bytes + bytes > limits.bodyLimitBytes || current.items + items > limits.maxItemsPerBody)) break;
    channels.push(channel);
    for (const ref of ready) {
      jobs.push(ref);
      const request = state.requests.get(ref.request)!;
      oldestAcceptedAt = Math.min(oldestAcceptedAt, request.acceptedAt);
      const job = request.jobs[ref.job]!;
      job.phase = 'sending';
      const sizes = job.itemBytes ?? [];
      const oversized = oversizedAt(sizes, limits);
      if (oversized >= 0) {
        // Sent in no body: the proxy would refuse the whole body it sits in.
        request.tooLarge ??= { job: ref.job, bytes: sizes[oversized]! };
        continue;
      }
      let slice: BodySlice | undefined;
      sizes.forEach((size, i) => {
        // Items are joined with commas: each costs its bytes plus one.
        const cost = size + 1;
        if (current.items > 0 && (current.bytes + cost > limits.bodyLimitBytes || current.items >= limits.maxItemsPerBody)) {
          close();
          slice = undefined;
        }
        if (!slice) {
          slice = { job: ref, from: i, to: i };
          current.slices.push(slice);
        }
        slice.to = i + 1;
        current.items += 1;
        current.bytes += cost;
      });
    }
  }
  if (jobs.length === 0) return undefined;
  close();
  for (const ref of jobs) removeFrom(state.unsent, jobOf(state, ref).channel, ref);
  return { flush: state.nextFlush++, channels, bodies, jobs, oldestAcceptedAt };
}

/** Stops a request after a failed job: its later jobs are dropped from the waiting queues. */
function stopRequest<S, E>(state: CoalescerState<S, E>, id: RequestId, stop: NonNullable<RequestState<S, E>['stopped']>): void {
  const request = state.requests.get(id)!;
  request.stopped = stop;
  request.jobs[stop.job]!.phase = 'failed';
  removeFrom(state.waiting, request.jobs[stop.job]!.channel, { request: id, job: stop.job });
  for (let j = stop.job + 1; j < request.jobs.length; j++) {
    const job = request.jobs[j]!;
    if (job.phase !== 'waiting') continue;
    job.phase = 'cancelled';
    removeFrom(state.waiting, job.channel, { request: id, job: j });
  }
}

/** The answer, once nothing of the request is left to do; undefined while something is. */
function answerFor<S, E>(request: RequestState<S, E>): RequestAnswer<S, E> | undefined {
  const finished = request.jobs.every((j) => j.phase === 'delivered' || j.phase === 'undelivered' || j.phase === 'failed' || j.phase === 'cancelled');
  if (!finished) return undefined;
  const stored = request.jobs.filter((j) => j.payload !== undefined).map((j) => j.payload!);
  // The same precedence as the sequential path: stored-but-not-delivered first, then the store failure.
  if (request.tooLarge) {
    return { ok: false, kind: 'too-large', job: request.tooLarge.job, channel: request.jobs[request.tooLarge.job]!.channel, bytes: request.tooLarge.bytes, stored };
  }
  if (request.undelivered !== undefined) return { ok: false, kind: 'delivery', error: request.undelivered, stored };
  if (request.stopped) {
    const { job, error, input } = request.stopped;
    return { ok: false, kind: 'store', error, job, ...(input !== undefined ? { input } : {}), stored };
  }
  return { ok: true, stored };
}

function onStored<S, E>(state: CoalescerState<S, E>, config: CoalescerConfig<E>, event: Extract<CoalescerEvent<S, E>, { type: 'stored' }>, out: CoalescerOutput<S, E>): void {
  const round = state.storing;
  if (!round || round.round !== event.round) throw new Error(`no store round ${event.round} in flight`);
  state.storing = undefined;
  round.channels.forEach(({ channel, jobs }, c) => {
    const outcome = event.outcomes[c];
    if (!outcome) throw new Error(`round ${event.round} has no outcome for ${channel}`);
    if (outcome.status === 'gated') {
      const gate = state.gated.get(channel);
      const since = gate?.since ?? event.now;
      for (const ref of jobs) jobOf(state, ref).phase = 'waiting';
      if (event.now - since >= config.limits.gateWaitLimitMs) {
        state.gated.delete(channel);
        const error = config.gateTimeoutError(channel, event.now - since);
        for (const ref of jobs) stopRequest(state, ref.request, { job: ref.job, error });
        return;
      }
      state.gated.set(channel, { since, reopened: false });
      out.gated.push({ channel, retryInMs: outcome.retryInMs });
      return;
    }
    state.gated.delete(channel);
    jobs.forEach((ref, s) => {
      const segment: SegmentOutcome<S, E> | { stored: false; error: E } =
        outcome.status === 'failed' ? { stored: false, error: outcome.error } : outcome.segments[s]!;
      if (!segment) throw new Error(`round ${event.round}: ${channel} has no outcome for its segment ${s}`);
      if (!segment.stored) {
        stopRequest(state, ref.request, { job: ref.job, error: segment.error, ...('input' in segment && segment.input !== undefined ? { input: segment.input } : {}) });
        return;
      }
      const request = state.requests.get(ref.request)!;
      const job = request.jobs[ref.job]!;
      job.phase = 'stored';
      job.payload = segment.payload;
      job.itemBytes = segment.itemBytes;
      request.next = ref.job + 1;
      removeFrom(state.waiting, channel, ref);
      push(state.unsent, channel, ref);
    });
  });
}

function onSent<S, E>(state: CoalescerState<S, E>, event: Extract<CoalescerEvent<S, E>, { type: 'sent' }>): void {
  const flush = state.sending.get(event.flush);
  if (!flush) throw new Error(`no flush ${event.flush} in flight`);
  state.sending.delete(event.flush);
  for (const channel of flush.channels) state.sendingChannels.delete(channel);
  // A job reached the proxy when every body holding its items was taken.
  const failures = new Map<string, E>();
  const key = (ref: JobRef) => `${ref.request}/${ref.job}`;
  let firstError: E | undefined;
  flush.bodies.forEach((body, b) => {
    const result = event.bodies[b];
    const error = result === undefined ? firstError : result.ok ? undefined : result.error;
    if (result && !result.ok) firstError ??= result.error;
    if (error === undefined && result === undefined) throw new Error(`flush ${event.flush} has no outcome for body ${b}`);
    if (error !== undefined) for (const slice of body.slices) if (!failures.has(key(slice.job))) failures.set(key(slice.job), error);
  });
  for (const ref of flush.jobs) {
    const request = state.requests.get(ref.request)!;
    const job = request.jobs[ref.job]!;
    const error = failures.get(key(ref));
    if (error !== undefined) {
      job.phase = 'undelivered';
      request.undelivered ??= error;
    } else {
      // Too large: not sent, so not delivered either (the answer says why).
      job.phase = request.tooLarge?.job === ref.job ? 'undelivered' : 'delivered';
    }
  }
}

/**
 * Applies `event` to `state` (mutated in place) and says what to do next: on `tick`, a store round to
 * start (when none is in flight) and flushes (up to the in-flight limit); answers to give; gated
 * channels to reopen later.
 */
export function coalescerStep<S, E>(state: CoalescerState<S, E>, config: CoalescerConfig<E>, event: CoalescerEvent<S, E>): CoalescerOutput<S, E> {
  const out: CoalescerOutput<S, E> = { sends: [], answers: [], gated: [] };
  const touched = new Set<RequestId>();
  switch (event.type) {
    case 'accepted': {
      if (state.requests.has(event.request)) throw new Error(`request ${event.request} accepted twice`);
      if (event.jobs.length === 0) throw new Error(`request ${event.request} has no job`);
      state.requests.set(event.request, {
        acceptedAt: event.now,
        jobs: event.jobs.map((j) => ({ channel: j.channel, inputs: j.inputs, phase: 'waiting' })),
        next: 0,
      });
      event.jobs.forEach((j, job) => push(state.waiting, j.channel, { request: event.request, job }));
      break;
    }
    case 'stored':
      for (const { jobs } of state.storing?.channels ?? []) for (const ref of jobs) touched.add(ref.request);
      onStored(state, config, event, out);
      break;
    case 'reopened': {
      const gate = state.gated.get(event.channel);
      if (gate) gate.reopened = true;
      break;
    }
    case 'sent':
      for (const ref of state.sending.get(event.flush)?.jobs ?? []) touched.add(ref.request);
      onSent(state, event);
      break;
    case 'tick':
      break;
  }
  if (event.type === 'tick') {
    if (!state.storing) {
      state.storing = planRound(state, config.limits);
      out.store = state.storing;
    }
    while (state.sending.size < Math.max(1, config.limits.maxFlushesInFlight)) {
      const flush = planFlush(state, config.limits);
      if (!flush) break;
      for (const ref of flush.jobs) touched.add(ref.request);
      if (flush.bodies.length > 0) {
        state.sending.set(flush.flush, flush);
        for (const channel of flush.channels) state.sendingChannels.add(channel);
        out.sends.push(flush);
      } else {
        // Nothing to send (duplicates only, or items too large): these jobs are done now.
        for (const ref of flush.jobs) {
          const request = state.requests.get(ref.request)!;
          request.jobs[ref.job]!.phase = request.tooLarge?.job === ref.job ? 'undelivered' : 'delivered';
        }
      }
    }
  }
  for (const id of touched) {
    const request = state.requests.get(id);
    if (!request) continue;
    const answer = answerFor(request);
    if (answer) {
      out.answers.push({ request: id, answer });
      state.requests.delete(id);
    }
  }
  return out;
}
