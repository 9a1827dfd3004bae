import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeHistoryStore } from './historyStoreContract.ts';
import { createMemoryHistoryStore } from './memoryHistoryStore.ts';
import { resumePlan } from './resumePlan.ts';

const IDLE = 7 * 24 * 3600 * 1000;

describeHistoryStore('memory', {
  create: async (limits) => createMemoryHistoryStore({ channelIdleMs: IDLE, ...limits }),
  boundsBytes: true,
});

describe('in-memory history store', () => {
  it('bounds each channel by age, raising the floor past expired messages', async () => {
    let clock = Date.now();
    const history = createMemoryHistoryStore({ maxMessagesPerChannel: 10, maxAgeMs: 1000, channelIdleMs: IDLE }, () => clock);
    const ids = (await history.append('c', [1, 2, 3].map((data) => ({ data })))).messages.map((m) => m.message.id);
    clock += 5000;
    const { position, messages } = await history.read('c', undefined, 10);
    expect(messages).toEqual([]);
    expect(position).toMatchObject({ lastId: ids[2], floorId: ids[2] });
  });

  it('counts a publish in flight until it landed or its in-flight TTL passed, as the Redis store does', async () => {
    let clock = Date.now();
    const history = createMemoryHistoryStore({ maxMessagesPerChannel: 10, maxAgeMs: 600_000, channelIdleMs: IDLE, inFlightTtlMs: 1000 }, () => clock);
    const [a, b] = (await history.append('c', [{ data: 1 }, { data: 2 }])).messages.map((m) => m.message.id);
    await history.landed('c', [a!]);
    clock += 999;
    expect(await history.stillInFlight('c', [a!, b!])).toEqual([b]);
    clock += 1;
    expect(await history.stillInFlight('c', [a!, b!])).toEqual([]);
    const start = await history.beginSubscribe('c', 'u', 30_000, 10);
    expect(start.busy === false && start.inFlight).toEqual([]);
  });

  it('starts a restarted store above every id the previous one issued', async () => {
    const first = createMemoryHistoryStore({ maxMessagesPerChannel: 10, maxAgeMs: 60_000, channelIdleMs: IDLE });
    const issued = (await first.append('c', [{ data: 'a' }, { data: 'b' }, { data: 'c' }])).messages.at(-1)!.message.id;
    await new Promise((r) => setTimeout(r, 2));
    const restarted = createMemoryHistoryStore({ maxMessagesPerChannel: 10, maxAgeMs: 60_000, channelIdleMs: IDLE });
    const next = (await restarted.append('c', [{ data: 'd' }])).messages[0]!;
    expect(BigInt(next.message.id) > BigInt(issued)).toBe(true);
    // The first of the new epoch follows 0; its epoch (below its id) is at or above what was issued.
    expect(next.prevId).toBe('0');
    const { position } = await restarted.read('c', undefined, 1);
    expect(BigInt(position.epochId) >= BigInt(issued)).toBe(true);
    expect(resumePlan(position, issued).reset?.reason).toBe('restarted');
  });
});

describe('in-memory history store: its byte bound and idle channels', () => {
  const LIMITS = { maxMessagesPerChannel: 1000, maxAgeMs: 3_600_000, channelIdleMs: IDLE };

  it('makes no record for reads (anyone can make them), and keeps every message under its byte bound', async () => {
    const history = createMemoryHistoryStore({ ...LIMITS, maxBytes: 256 * 1024 });
    const ids = (await history.append('news', Array.from({ length: 100 }, (_, n) => ({ data: { n, text: 'x'.repeat(500) } })))).messages.map((m) => m.message.id);
    await history.landed('news', ids);
    const before = history.usage();
    for (let n = 0; n < 20_000; n++) await history.read(`probe-${n}`, undefined, 10);
    expect(history.usage()).toEqual(before);
    expect(history.usage().bytes).toBeLessThanOrEqual(256 * 1024);
    const { messages, position } = await history.read('news', undefined, 1000);
    expect(messages.map((m) => m.id)).toEqual(ids);
    expect(position.floorId).toBe(position.epochId);
  });

  it('keeps its bytes bounded and never loses a message silently, whatever the publishes, reads and clock do (property)', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), channel: fc.constantFrom('a', 'b', 'c'), sizes: fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('read' as const), channel: fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 500 }).map((n) => `r${n}`)) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(10, 1000, 30_000, 61_000) }),
    );
    const maxBytes = 32 * 1024;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        let clock = 1_796_000_000_000;
        const history = createMemoryHistoryStore({ maxMessagesPerChannel: 20, maxAgeMs: 60_000, channelIdleMs: 120_000, maxBytes }, () => clock);
        const issued = new Map<string, string[]>();
        for (const step of ops) {
          if (step.kind === 'tick') clock += step.ms;
          else if (step.kind === 'read') await history.read(step.channel, undefined, 10);
          else {
            const { messages } = await history.append(step.channel, step.sizes.map((size) => ({ data: 'd'.repeat(size) })));
            await history.landed(step.channel, messages.map((m) => m.message.id));
            issued.set(step.channel, [...(issued.get(step.channel) ?? []), ...messages.map((m) => m.message.id)]);
          }
          expect(history.usage().bytes).toBeLessThanOrEqual(maxBytes);
        }
        // A client at any position it could have been given: either everything after it, or told.
        for (const [channel, ids] of issued) {
          const { position } = await history.read(channel, undefined, 0);
          for (const since of ids) {
            const plan = resumePlan(position, since);
            if (plan.reset) continue;
            const replay = await history.read(channel, plan.afterId, 1000);
            expect(replay.messages.map((m) => m.id)).toEqual(ids.filter((id) => BigInt(id) > BigInt(since)));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
