import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  coalescerStep,
  DEFAULT_COALESCER_LIMITS,
  emptyCoalescerState,
  type ChannelOutcome,
  type CoalescerConfig,
  type CoalescerEvent,
  type CoalescerLimits,
  type CoalescerOutput,
  type CoalescerState,
  type JobRef,
  type RequestAnswer,
  type SendFlush,
  type StoreRound,
} from './publishCoalescer.ts';

/** What the tests keep of a stored job: who, where, and the ids the store gave it. */
interface Stored {
  request: number;
  job: number;
  channel: string;
  ids: number[];
}
type Err = string;

/** One flush in flight at a time (the examples below); the properties also run with more. */
const limits: CoalescerLimits = { ...DEFAULT_COALESCER_LIMITS, bodyLimitBytes: 1000, bodyEnvelopeBytes: 12, maxItemsPerBody: 8, maxFlushesInFlight: 1 };
const configWith = (maxFlushesInFlight: number): CoalescerConfig<Err> => ({
  limits: { ...limits, maxFlushesInFlight },
  gateTimeoutError: (channel, ms) => `gate-timeout ${channel} ${ms}`,
});
const config = configWith(1);

/** A step's output; `send`: its flush, when it started exactly one. */
type Step = CoalescerOutput<Stored, Err> & { send?: SendFlush };

function engine(engineConfig: CoalescerConfig<Err> = config) {
  const state: CoalescerState<Stored, Err> = emptyCoalescerState();
  const answers = new Map<number, RequestAnswer<Stored, Err>>();
  const apply = (event: CoalescerEvent<Stored, Err>): Step => {
    const out = coalescerStep(state, engineConfig, event);
    for (const { request, answer } of out.answers) {
      expect(answers.has(request), `request ${request} answered twice`).toBe(false);
      answers.set(request, answer);
    }
    return { ...out, ...(out.sends.length === 1 ? { send: out.sends[0]! } : {}) };
  };
  /** The event, then the tick at the end of its event-loop turn (what the binding does). */
  const run = (event: CoalescerEvent<Stored, Err>): Step => {
    const out = apply(event);
    const ticked = apply({ type: 'tick' });
    return { ...ticked, sends: [...out.sends, ...ticked.sends], answers: [...out.answers, ...ticked.answers], gated: [...out.gated, ...ticked.gated] };
  };
  return { state, answers, run, apply };
}

const stored = (round: StoreRound, c: number, s: number, ids: number[], itemBytes = ids.map(() => 100)) => ({
  stored: true as const,
  itemBytes,
  payload: { request: round.channels[c]!.jobs[s]!.request, job: round.channels[c]!.jobs[s]!.job, channel: round.channels[c]!.channel, ids },
});

describe('a lone publisher', () => {
  it('is stored at once, sent at once, answered when the proxy took it: no waiting', () => {
    const { run, answers } = engine();
    const accepted = run({ type: 'accepted', request: 1, jobs: [{ channel: 'a', inputs: 1 }], now: 0 });
    expect(accepted.store?.channels).toEqual([{ channel: 'a', jobs: [{ request: 1, job: 0 }] }]);
    expect(accepted.send).toBeUndefined();
    const round = accepted.store!;
    const afterStore = run({ type: 'stored', round: round.round, outcomes: [{ status: 'done', segments: [stored(round, 0, 0, [1], [120])] }], now: 1 });
    expect(afterStore.send?.bodies).toEqual([{ slices: [{ job: { request: 1, job: 0 }, from: 0, to: 1 }], items: 1, bytes: 12 + 121 }]);
    expect(answers.size).toBe(0);
    run({ type: 'sent', flush: afterStore.send!.flush, bodies: [{ ok: true }] });
    expect(answers.get(1)).toEqual({ ok: true, stored: [{ request: 1, job: 0, channel: 'a', ids: [1] }] });
  });
});

describe('publishes arriving in one event-loop turn', () => {
  it('go in one round, a call per channel, each caller a segment in acceptance order', () => {
    const { apply } = engine();
    apply({ type: 'accepted', request: 1, jobs: [{ channel: 'a', inputs: 1 }], now: 0 });
    apply({ type: 'accepted', request: 2, jobs: [{ channel: 'b', inputs: 2 }], now: 0 });
    apply({ type: 'accepted', request: 3, jobs: [{ channel: 'a', inputs: 1 }], now: 0 });
    const out = apply({ type: 'tick' });
    expect(out.store!.channels).toEqual([
      { channel: 'a', jobs: [{ request: 1, job: 0 }, { request: 3, job: 0 }] },
      { channel: 'b', jobs: [{ request: 2, job: 0 }] },
    ]);
    // Nothing starts without a tick.
    expect(apply({ type: 'accepted', request: 4, jobs: [{ channel: 'c', inputs: 1 }], now: 0 }).store).toBeUndefined();
  });
});

describe('a slow proxy', () => {
  it('gets everything that arrived while a flush was in flight in the next flush, stored in one round meanwhile', () => {
    const { run, answers } = engine();
    const first = run({ type: 'accepted', request: 1, jobs: [{ channel: 'a', inputs: 1 }], now: 0 });
    const sending = run({ type: 'stored', round: first.store!.round, outcomes: [{ status: 'done', segments: [stored(first.store!, 0, 0, [1])] }], now: 0 });
    expect(sending.send).toBeDefined();
    // The proxy is slow: 20 callers arrive meanwhile. The first of them starts a round; the others wait for it.
    let round: StoreRound | undefined;
    for (let r = 2; r <= 21; r++) {
      const out = run({ type: 'accepted', request: r, jobs: [{ channel: r % 2 ? 'a' : 'b', inputs: 1 }], now: r });
      if (out.store) round = out.store;
      expect(out.send).toBeUndefined();
    }
    expect(round!.channels.flatMap((c) => c.jobs)).toEqual([{ request: 2, job: 0 }]);
    const next = run({ type: 'stored', round: round!.round, outcomes: [{ status: 'done', segments: [stored(round!, 0, 0, [1])] }], now: 30 });
    // One round for the 19 others: a call per channel, each caller a segment, in acceptance order.
    expect(next.store!.channels.map((c) => [c.channel, c.jobs.map((j) => j.request)])).toEqual([
      ['b', [4, 6, 8, 10, 12, 14, 16, 18, 20]],
      ['a', [3, 5, 7, 9, 11, 13, 15, 17, 19, 21]],
    ]);
    expect(next.send).toBeUndefined();
    const bIds = new Map([4, 6, 8, 10, 12, 14, 16, 18, 20].map((r, i) => [r, 2 + i]));
    run({
      type: 'stored',
      round: next.store!.round,
      outcomes: next.store!.channels.map((c, ci) => ({
        status: 'done' as const,
        segments: c.jobs.map((j, s) => stored(next.store!, ci, s, [c.channel === 'a' ? 2 + s : bIds.get(j.request)!])),
      })),
      now: 31,
    });
    const flushed = run({ type: 'sent', flush: sending.send!.flush, bodies: [{ ok: true }] });
    expect(answers.get(1)?.ok).toBe(true);
    // Items of 100 bytes, at most 8 a body: b's 10 (request 2's came first) do not fit one body, so b
    // goes alone in two bodies, then a's 10 in the next flush.
    expect(flushed.send!.channels).toEqual(['b']);
    expect(flushed.send!.jobs).toHaveLength(10);
    expect(flushed.send!.bodies.map((b) => b.items)).toEqual([8, 2]);
    const second = run({ type: 'sent', flush: flushed.send!.flush, bodies: [{ ok: true }, { ok: true }] });
    expect(second.send!.channels).toEqual(['a']);
    expect(second.send!.jobs).toHaveLength(10);
    expect(second.send!.bodies.map((b) => b.items)).toEqual([8, 2]);
    run({ type: 'sent', flush: second.send!.flush, bodies: [{ ok: true }, { ok: true }] });
    expect([...answers.values()].every((a) => a.ok)).toBe(true);
    expect(answers.size).toBe(21);
  });
});

describe("one caller's conflict", () => {
  it("fails that caller's segment only: the other callers on the channel are stored and answered ok", () => {
    const { run, answers } = engine();
    const busy = run({ type: 'accepted', request: 1, jobs: [{ channel: 'x', inputs: 1 }], now: 0 }).store!;
    run({ type: 'accepted', request: 2, jobs: [{ channel: 'c', inputs: 2 }], now: 0 });
    run({ type: 'accepted', request: 3, jobs: [{ channel: 'c', inputs: 1 }], now: 0 });
    run({ type: 'accepted', request: 4, jobs: [{ channel: 'c', inputs: 1 }], now: 0 });
    const out = run({ type: 'stored', round: busy.round, outcomes: [{ status: 'done', segments: [stored(busy, 0, 0, [7])] }], now: 1 });
    const round = out.store!;
    expect(round.channels).toEqual([{ channel: 'c', jobs: [2, 3, 4].map((request) => ({ request, job: 0 })) }]);
    const after = run({
      type: 'stored',
      round: round.round,
      outcomes: [{ status: 'done', segments: [stored(round, 0, 0, [1, 2]), { stored: false, error: 'conflict', input: 0 }, stored(round, 0, 2, [3])] }],
      now: 2,
    });
    // Request 3 is answered at once: nothing of it was stored, nothing waits.
    expect(answers.get(3)).toEqual({ ok: false, kind: 'store', error: 'conflict', job: 0, input: 0, stored: [] });
    expect(after.send).toBeUndefined(); // x's flush is in flight
    const flush = run({ type: 'sent', flush: out.send!.flush, bodies: [{ ok: true }] }).send!;
    expect(flush.jobs).toEqual([{ request: 2, job: 0 }, { request: 4, job: 0 }]);
    run({ type: 'sent', flush: flush.flush, bodies: flush.bodies.map(() => ({ ok: true as const })) });
    expect(answers.get(2)?.ok).toBe(true);
    expect(answers.get(4)?.ok).toBe(true);
  });
});

describe('a request over several channels', () => {
  it('stops at the channel that cannot be stored; what was stored before it is sent and listed', () => {
    const { run, answers } = engine();
    const r1 = run({ type: 'accepted', request: 1, jobs: [{ channel: 'a', inputs: 2 }, { channel: 'b', inputs: 1 }, { channel: 'c', inputs: 1 }], now: 0 }).store!;
    // One channel at a time: b waits for a.
    expect(r1.channels).toEqual([{ channel: 'a', jobs: [{ request: 1, job: 0 }] }]);
    const r2 = run({ type: 'stored', round: r1.round, outcomes: [{ status: 'done', segments: [stored(r1, 0, 0, [1, 2])] }], now: 1 });
    // Not sent yet: the request is still storing (one flush for all of it, as before).
    expect(r2.send).toBeUndefined();
    expect(r2.store!.channels).toEqual([{ channel: 'b', jobs: [{ request: 1, job: 1 }] }]);
    const r3 = run({ type: 'stored', round: r2.store!.round, outcomes: [{ status: 'failed', error: 'redis down' }], now: 2 });
    // c is never tried; a's messages go out.
    expect(r3.store).toBeUndefined();
    expect(r3.send!.jobs).toEqual([{ request: 1, job: 0 }]);
    run({ type: 'sent', flush: r3.send!.flush, bodies: [{ ok: true }] });
    expect(answers.get(1)).toEqual({ ok: false, kind: 'store', error: 'redis down', job: 1, stored: [{ request: 1, job: 0, channel: 'a', ids: [1, 2] }] });
  });

  it('holds a later caller on a shared channel behind it, so ids follow acceptance order', () => {
    const { run } = engine();
    const r1 = run({ type: 'accepted', request: 1, jobs: [{ channel: 'a', inputs: 1 }, { channel: 'b', inputs: 1 }], now: 0 }).store!;
    run({ type: 'accepted', request: 2, jobs: [{ channel: 'b', inputs: 1 }], now: 1 });
    const r2 = run({ type: 'stored', round: r1.round, outcomes: [{ status: 'done', segments: [stored(r1, 0, 0, [1])] }], now: 2 }).store!;
    expect(r2.channels).toEqual([{ channel: 'b', jobs: [{ request: 1, job: 1 }, { request: 2, job: 0 }] }]);
  });
});

describe('a gated channel', () => {
  it('holds only its own jobs; they are tried again when reopened, and fail once held past the limit', () => {
    const { run, answers } = engine();
    const r1 = run({ type: 'accepted', request: 1, jobs: [{ channel: 'g', inputs: 1 }], now: 0 }).store!;
    run({ type: 'accepted', request: 2, jobs: [{ channel: 'h', inputs: 1 }], now: 0 });
    const out = run({ type: 'stored', round: r1.round, outcomes: [{ status: 'gated', retryInMs: 5 }], now: 10 });
    expect(out.gated).toEqual([{ channel: 'g', retryInMs: 5 }]);
    // The next round has h only.
    expect(out.store!.channels.map((c) => c.channel)).toEqual(['h']);
    const h = run({ type: 'stored', round: out.store!.round, outcomes: [{ status: 'done', segments: [stored(out.store!, 0, 0, [1])] }], now: 11 });
    expect(h.store).toBeUndefined();
    const again = run({ type: 'reopened', channel: 'g' });
    expect(again.store!.channels.map((c) => c.channel)).toEqual(['g']);
    run({ type: 'stored', round: again.store!.round, outcomes: [{ status: 'gated', retryInMs: 5 }], now: 1000 });
    const last = run({ type: 'reopened', channel: 'g' }).store!;
    run({ type: 'stored', round: last.round, outcomes: [{ status: 'gated', retryInMs: 5 }], now: 10 + limits.gateWaitLimitMs });
    expect(answers.get(1)).toEqual({ ok: false, kind: 'store', error: `gate-timeout g ${limits.gateWaitLimitMs}`, job: 0, stored: [] });
  });
});

describe('the body limit', () => {
  it("splits a channel's items into bodies under the limit; a job whose body failed is told, the others are not", () => {
    const { run, answers } = engine();
    const busy = run({ type: 'accepted', request: 1, jobs: [{ channel: 'x', inputs: 1 }], now: 0 }).store!;
    run({ type: 'accepted', request: 2, jobs: [{ channel: 'a', inputs: 1 }], now: 0 });
    run({ type: 'accepted', request: 3, jobs: [{ channel: 'a', inputs: 1 }], now: 0 });
    run({ type: 'accepted', request: 4, jobs: [{ channel: 'a', inputs: 1 }], now: 0 });
    const round = run({ type: 'stored', round: busy.round, outcomes: [{ status: 'done', segments: [stored(busy, 0, 0, [1])] }], now: 0 });
    const next = run({
      type: 'stored',
      round: round.store!.round,
      outcomes: [{ status: 'done' as const, segments: [0, 1, 2].map((s) => stored(round.store!, 0, s, [s + 1], [600])) }],
      now: 0,
    });
    expect(next.send).toBeUndefined(); // the first flush is in flight
    const flush = run({ type: 'sent', flush: round.send!.flush, bodies: [{ ok: true }] }).send!;
    // 600-byte items: one a body under a 1000-byte limit.
    expect(flush.bodies.map((b) => b.bytes)).toEqual([12 + 601, 12 + 601, 12 + 601]);
    run({ type: 'sent', flush: flush.flush, bodies: [{ ok: true }, { ok: false, error: 'proxy 503' }] });
    expect(answers.get(2)?.ok).toBe(true);
    expect(answers.get(3)).toMatchObject({ ok: false, kind: 'delivery', error: 'proxy 503' });
    // The third body was not sent after the failure: its job did not reach the proxy either.
    expect(answers.get(4)).toMatchObject({ ok: false, kind: 'delivery', error: 'proxy 503' });
  });

  it('sends no item that cannot fit even alone, and says so; the rest of the flush goes', () => {
    const { run, answers } = engine();
    const busy = run({ type: 'accepted', request: 1, jobs: [{ channel: 'x', inputs: 1 }], now: 0 }).store!;
    run({ type: 'accepted', request: 2, jobs: [{ channel: 'a', inputs: 1 }], now: 0 });
    run({ type: 'accepted', request: 3, jobs: [{ channel: 'b', inputs: 1 }], now: 0 });
    const round = run({ type: 'stored', round: busy.round, outcomes: [{ status: 'done', segments: [stored(busy, 0, 0, [1])] }], now: 0 });
    run({
      type: 'stored',
      round: round.store!.round,
      outcomes: [
        { status: 'done', segments: [stored(round.store!, 0, 0, [1], [2000])] },
        { status: 'done', segments: [stored(round.store!, 1, 0, [1], [100])] },
      ],
      now: 0,
    });
    const flush = run({ type: 'sent', flush: round.send!.flush, bodies: [{ ok: true }] }).send!;
    expect(flush.bodies.flatMap((b) => b.slices.map((s) => s.job.request))).toEqual([3]);
    run({ type: 'sent', flush: flush.flush, bodies: [{ ok: true }] });
    expect(answers.get(2)).toMatchObject({ ok: false, kind: 'too-large', channel: 'a', bytes: 2000 });
    expect(answers.get(3)?.ok).toBe(true);
  });
});

describe('several flushes in flight', () => {
  /** Accepts one single-input request per channel and stores it: the flushes the tick starts. */
  const storeAll = (e: ReturnType<typeof engine>, requests: Array<[number, string]>, itemBytes = 100): Step => {
    let round: StoreRound | undefined;
    for (const [request, channel] of requests) round ??= e.apply({ type: 'accepted', request, jobs: [{ channel, inputs: 1 }], now: 0 }).store;
    round = e.apply({ type: 'tick' }).store ?? round;
    return e.run({
      type: 'stored',
      round: round!.round,
      outcomes: round!.channels.map((c, ci) => ({ status: 'done' as const, segments: c.jobs.map((_, s) => stored(round!, ci, s, [s + 1], [itemBytes])) })),
      now: 1,
    });
  };

  it('go out side by side on disjoint channels, a body each, up to the bound; the rest waits for an answer', () => {
    const e = engine(configWith(2));
    // 600-byte items: one a body, so each channel is a flush of its own.
    const out = storeAll(e, [[1, 'a'], [2, 'b'], [3, 'c']], 600);
    expect(out.sends.map((f) => f.channels)).toEqual([['a'], ['b']]);
    // b answers first: c goes out beside a, which is still in flight.
    const next = e.run({ type: 'sent', flush: out.sends[1]!.flush, bodies: [{ ok: true }] });
    expect(e.answers.get(2)?.ok).toBe(true);
    expect(next.sends.map((f) => f.channels)).toEqual([['c']]);
    e.run({ type: 'sent', flush: next.sends[0]!.flush, bodies: [{ ok: true }] });
    e.run({ type: 'sent', flush: out.sends[0]!.flush, bodies: [{ ok: true }] });
    expect([1, 2, 3].map((r) => e.answers.get(r)?.ok)).toEqual([true, true, true]);
  });

  it("hold a channel's later group until its flush in flight is answered, while other channels go", () => {
    const e = engine(configWith(4));
    const first = storeAll(e, [[1, 'a']]);
    expect(first.sends.map((f) => f.channels)).toEqual([['a']]);
    // More for a, and something for b, while a's first flush is in flight.
    const second = storeAll(e, [[2, 'a'], [3, 'b']]);
    expect(second.sends.map((f) => f.channels)).toEqual([['b']]);
    e.run({ type: 'sent', flush: second.sends[0]!.flush, bodies: [{ ok: true }] });
    expect(e.answers.get(3)?.ok).toBe(true);
    expect(e.answers.has(2)).toBe(false);
    // a's first answer releases its second group.
    const third = e.run({ type: 'sent', flush: first.sends[0]!.flush, bodies: [{ ok: true }] });
    expect(third.sends.map((f) => f.jobs)).toEqual([[{ request: 2, job: 0 }]]);
    e.run({ type: 'sent', flush: third.sends[0]!.flush, bodies: [{ ok: true }] });
    expect(e.answers.get(2)?.ok).toBe(true);
  });

  it('answer a request over channels in different flushes once all are answered, with the failure of any', () => {
    const e = engine(configWith(4));
    const r1 = e.run({ type: 'accepted', request: 1, jobs: [{ channel: 'a', inputs: 1 }, { channel: 'b', inputs: 1 }], now: 0 }).store!;
    // b's 900-byte item does not fit a's body: two flushes.
    const r2 = e.run({ type: 'stored', round: r1.round, outcomes: [{ status: 'done', segments: [stored(r1, 0, 0, [1], [500])] }], now: 1 }).store!;
    const out = e.run({ type: 'stored', round: r2.round, outcomes: [{ status: 'done', segments: [stored(r2, 0, 0, [1], [900])] }], now: 2 });
    expect(out.sends.map((f) => f.channels)).toEqual([['a'], ['b']]);
    e.run({ type: 'sent', flush: out.sends[1]!.flush, bodies: [{ ok: false, error: 'proxy 503' }] });
    expect(e.answers.has(1)).toBe(false);
    e.run({ type: 'sent', flush: out.sends[0]!.flush, bodies: [{ ok: true }] });
    expect(e.answers.get(1)).toMatchObject({ ok: false, kind: 'delivery', error: 'proxy 503' });
    expect(e.answers.get(1)!.stored.map((s) => s.channel)).toEqual(['a', 'b']);
  });

  it('send a lone publisher at once, whatever the bound', () => {
    const e = engine(configWith(8));
    const out = storeAll(e, [[1, 'a']]);
    expect(out.sends).toHaveLength(1);
    expect(out.sends[0]!.bodies).toHaveLength(1);
  });
});

// --- Properties over random arrivals, store and proxy outcomes, and interleavings ---

interface PlannedRequest {
  /** `duplicate`: the store recognises every input as a retry (no new id, nothing to send). */
  jobs: Array<{ channel: string; inputs: number; conflict: boolean; duplicate: boolean; itemBytes: number }>;
}

const requestArb: fc.Arbitrary<PlannedRequest> = fc
  .uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { minLength: 1, maxLength: 3 })
  .chain((channels) =>
    fc.record({
      jobs: fc.tuple(
        ...channels.map((channel) =>
          fc.record({
            channel: fc.constant(channel),
            inputs: fc.integer({ min: 1, max: 4 }),
            conflict: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
            duplicate: fc.integer({ min: 0, max: 9 }).map((n) => n < 1),
            itemBytes: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 20, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: 900, max: 1100 }) }),
          }),
        ),
      ),
    }),
  );

interface Scenario {
  requests: PlannedRequest[];
  /** Drives the interleaving: each number picks the next action among those possible. */
  choices: number[];
  /** Per store call: 0-6 done, 7 gated, 8 failed. */
  storeFates: number[];
  /** Per body: 0-8 ok, 9 failed. */
  bodyFates: number[];
  /** limits.maxFlushesInFlight */
  maxInFlight: number;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  requests: fc.array(requestArb, { minLength: 1, maxLength: 12 }),
  choices: fc.array(fc.nat(), { minLength: 0, maxLength: 80 }),
  storeFates: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 40 }),
  bodyFates: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 40 }),
  maxInFlight: fc.integer({ min: 1, max: 4 }),
});

/** Items per input: each message becomes this many items (one per transport channel). */
const ITEMS_PER_INPUT = 3;

function simulate(scenario: Scenario) {
  const { state, answers, apply } = engine(configWith(scenario.maxInFlight));
  const run = apply;
  const lastId = new Map<string, number>();
  /** Per channel, the ids in the order they were given, with the request that got them. */
  const given = new Map<string, Array<{ request: number; id: number }>>();
  /** Per channel, the ids in the order they were put in bodies (sent or not). */
  const sentOrder = new Map<string, number[]>();
  const storedJobs = new Map<string, Stored>();
  const deliveredJobs = new Set<string>();
  const bodies: SendFlush['bodies'] = [];
  const storeCalls: Array<{ request: number; job: number; after: boolean }> = [];
  let storing: StoreRound | undefined;
  /** Flushes in flight (started, not answered), and their channels. */
  const sending = new Map<number, SendFlush>();
  const sendingChannels = new Set<string>();
  let mostInFlight = 0;
  const gated = new Set<string>();
  let now = 0;
  let nextRequest = 0;
  let storeFate = 0;
  let bodyFate = 0;
  const key = (ref: JobRef) => `${ref.request}/${ref.job}`;

  const take = (out: Step) => {
    if (out.store) {
      expect(storing, 'two rounds in flight').toBeUndefined();
      storing = out.store;
    }
    for (const flush of out.sends) {
      // A flush names exactly its jobs' channels, and none of them is in another flush in flight.
      const channels = new Set(flush.jobs.map((ref) => scenario.requests[ref.request]!.jobs[ref.job]!.channel));
      expect(new Set(flush.channels)).toEqual(channels);
      expect(flush.channels).toHaveLength(channels.size);
      for (const channel of channels) expect(sendingChannels.has(channel), `${channel} in two flushes in flight`).toBe(false);
      for (const channel of channels) sendingChannels.add(channel);
      sending.set(flush.flush, flush);
    }
    expect(sending.size).toBeLessThanOrEqual(scenario.maxInFlight);
    mostInFlight = Math.max(mostInFlight, sending.size);
    for (const g of out.gated) gated.add(g.channel);
  };

  const finishStore = () => {
    const round = storing!;
    storing = undefined;
    const outcomes: Array<ChannelOutcome<Stored, Err>> = round.channels.map(({ channel, jobs }) => {
      const fate = scenario.storeFates[storeFate++ % scenario.storeFates.length]!;
      if (fate === 7) return { status: 'gated', retryInMs: 5 };
      if (fate === 8) return { status: 'failed', error: `unavailable ${channel}` };
      return {
        status: 'done',
        segments: jobs.map((ref) => {
          const planned = scenario.requests[ref.request]!.jobs[ref.job]!;
          storeCalls.push({ request: ref.request, job: ref.job, after: false });
          if (planned.conflict) return { stored: false as const, error: `conflict ${key(ref)}`, input: planned.inputs - 1 };
          if (planned.duplicate) {
            const payload: Stored = { request: ref.request, job: ref.job, channel, ids: [] };
            storedJobs.set(key(ref), payload);
            return { stored: true as const, itemBytes: [], payload };
          }
          const ids: number[] = [];
          for (let i = 0; i < planned.inputs; i++) {
            const id = (lastId.get(channel) ?? 0) + 1;
            lastId.set(channel, id);
            ids.push(id);
            given.get(channel)?.push({ request: ref.request, id }) ?? given.set(channel, [{ request: ref.request, id }]);
          }
          const payload: Stored = { request: ref.request, job: ref.job, channel, ids };
          storedJobs.set(key(ref), payload);
          return { stored: true as const, itemBytes: ids.flatMap(() => Array.from({ length: ITEMS_PER_INPUT }, () => planned.itemBytes)), payload };
        }),
      };
    });
    now += 1;
    take(run({ type: 'stored', round: round.round, outcomes, now }));
  };

  const finishSend = (flush: SendFlush) => {
    sending.delete(flush.flush);
    for (const channel of flush.channels) sendingChannels.delete(channel);
    const results: Array<{ ok: true } | { ok: false; error: Err }> = [];
    const missed = new Set<string>();
    let failed = false;
    for (const body of flush.bodies) {
      const jobsInBody = body.slices.map((s) => key(s.job));
      if (failed) {
        // Not sent after a failure.
        for (const k of jobsInBody) missed.add(k);
        continue;
      }
      bodies.push(body);
      for (const slice of body.slices) {
        const payload = storedJobs.get(key(slice.job))!;
        for (let i = slice.from; i < slice.to; i++) {
          const id = payload.ids[Math.floor(i / ITEMS_PER_INPUT)]!;
          const order = sentOrder.get(payload.channel) ?? [];
          if (order.at(-1) !== id) order.push(id);
          sentOrder.set(payload.channel, order);
        }
      }
      const fate = scenario.bodyFates[bodyFate++ % scenario.bodyFates.length]!;
      if (fate === 9) {
        failed = true;
        for (const k of jobsInBody) missed.add(k);
        results.push({ ok: false, error: 'proxy down' });
      } else {
        results.push({ ok: true });
      }
    }
    // Delivered: every body holding its items was taken (an item too large is in none).
    for (const body of flush.bodies) for (const slice of body.slices) if (!missed.has(key(slice.job))) deliveredJobs.add(key(slice.job));
    take(run({ type: 'sent', flush: flush.flush, bodies: results }));
  };

  const accept = () => {
    const id = nextRequest++;
    now += 1;
    take(run({ type: 'accepted', request: id, jobs: scenario.requests[id]!.jobs.map((j) => ({ channel: j.channel, inputs: j.inputs })), now }));
  };

  const reopen = (channel: string) => {
    gated.delete(channel);
    now += 100;
    take(run({ type: 'reopened', channel }));
  };

  const tick = () => take(run({ type: 'tick' }));
  for (const choice of scenario.choices) {
    const actions: Array<() => void> = [tick];
    if (nextRequest < scenario.requests.length) actions.push(accept);
    if (storing) actions.push(finishStore);
    // The proxy answers the flushes in flight in any order.
    for (const flush of sending.values()) actions.push(() => finishSend(flush));
    for (const channel of gated) actions.push(() => reopen(channel));
    actions[choice % actions.length]!();
  }
  // Drain: everything arrives, every batch finishes, every gate reopens (and times out eventually).
  for (let guard = 0; guard < 10_000; guard++) {
    if (nextRequest < scenario.requests.length) accept();
    else if (storing) finishStore();
    else if (sending.size > 0) finishSend(sending.values().next().value!);
    else if (gated.size > 0) reopen(gated.values().next().value!);
    else {
      tick();
      if (!storing && sending.size === 0 && gated.size === 0) break;
    }
    // What the binding does at the end of every turn.
    tick();
  }
  return { state, answers, given, sentOrder, storedJobs, deliveredJobs, bodies, storeCalls, mostInFlight };
}

describe('properties', () => {
  it('every request is answered exactly once, exactly, in order per channel, under the body limit, a channel in one flush in flight at most', () => {
    /** Runs in which flushes were in flight side by side: the property must have met concurrency. */
    let concurrentRuns = 0;
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const { state, answers, given, sentOrder, storedJobs, deliveredJobs, bodies, mostInFlight } = simulate(scenario);
        if (mostInFlight > 1) concurrentRuns += 1;
        // Liveness: everything answered, nothing left behind.
        expect(answers.size).toBe(scenario.requests.length);
        expect(state.requests.size).toBe(0);
        expect(state.waiting.size + state.unsent.size + state.sending.size + state.sendingChannels.size).toBe(0);

        // Ids per channel follow acceptance order (request ids are given in acceptance order).
        for (const list of given.values()) {
          for (let i = 1; i < list.length; i++) expect(list[i]!.request).toBeGreaterThanOrEqual(list[i - 1]!.request);
        }
        // The proxy gets a channel's items in id order.
        for (const order of sentOrder.values()) for (let i = 1; i < order.length; i++) expect(order[i]!).toBeGreaterThan(order[i - 1]!);
        // Every body under the limit and the item cap.
        for (const body of bodies) {
          expect(body.bytes).toBeLessThanOrEqual(limits.bodyLimitBytes);
          expect(body.items).toBeLessThanOrEqual(limits.maxItemsPerBody);
        }

        for (const [id, answer] of answers) {
          const planned = scenario.requests[id]!;
          const mine = planned.jobs.map((_, j) => storedJobs.get(`${id}/${j}`)).filter((s) => s !== undefined);
          // Exactly what was stored for this request, in job order.
          expect(answer.stored).toEqual(mine);
          const stops = answer.ok ? undefined : answer.kind === 'store' ? answer.job : undefined;
          // Nothing stored after the job that failed.
          if (stops !== undefined) expect(mine.every((s) => s.job < stops)).toBe(true);
          const tooLarge = mine.some((s) => s.ids.length > 0 && planned.jobs[s.job]!.itemBytes + 1 + limits.bodyEnvelopeBytes > limits.bodyLimitBytes);
          const undelivered = mine.some((s) => s.ids.length > 0 && !deliveredJobs.has(`${id}/${s.job}`));
          if (answer.ok) {
            // ok means every job stored and every item taken by the proxy.
            expect(mine).toHaveLength(planned.jobs.length);
            expect(undelivered).toBe(false);
          } else if (answer.kind === 'delivery' || answer.kind === 'too-large') {
            expect(undelivered).toBe(true);
            expect(answer.kind === 'too-large').toBe(tooLarge);
          } else {
            expect(undelivered).toBe(false);
            // A conflict is the request's own: only a job planned to conflict fails with one.
            if (answer.error.startsWith('conflict')) expect(planned.jobs[answer.job]!.conflict).toBe(true);
          }
          // A request that planned no conflict is never failed by another's conflict.
          if (!answer.ok && answer.kind === 'store' && answer.error.startsWith('conflict')) expect(answer.error).toBe(`conflict ${id}/${answer.job}`);
        }
      }),
      { numRuns: 400 },
    );
    expect(concurrentRuns).toBeGreaterThan(20);
  });

  it('a request alone with a healthy store and proxy is answered ok after one round and one flush per channel chain', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const healthy = request.jobs.map((j) => ({ ...j, conflict: false, duplicate: false, itemBytes: Math.min(j.itemBytes, 300) }));
        const { answers, bodies } = simulate({ requests: [{ jobs: healthy }], choices: [], storeFates: [0], bodyFates: [0], maxInFlight: 1 });
        expect(answers.get(0)?.ok).toBe(true);
        // Every item of it in as few bodies as the limits allow: one flush.
        const items = healthy.reduce((n, j) => n + j.inputs * ITEMS_PER_INPUT, 0);
        expect(bodies.reduce((n, b) => n + b.items, 0)).toBe(items);
      }),
    );
  });
});
