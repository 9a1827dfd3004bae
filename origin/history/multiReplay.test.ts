import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContinuityReset } from '../../protocol/index.ts';
import type { ChannelMessage } from './historyStore.ts';
import { multiReplayPage, type ChannelReplayInput } from './multiReplay.ts';
import type { Replay } from './replay.ts';

const msg = (channel: string, id: number): ChannelMessage => ({ id: String(id), channel, data: id, ts: 1 });

/** A channel's replay of `ids` after `after` (as readReplay reads it), each frame `size` bytes. */
function input(channel: string, after: number, ids: number[], options: { requested?: string; more?: boolean; reset?: ContinuityReset; size?: number } = {}): ChannelReplayInput {
  const messages = ids.map((id) => msg(channel, id));
  const replay: Replay = {
    position: { lastId: String(ids.at(-1) ?? after), floorId: '0', epochId: '0' },
    plan: { afterId: String(after), ...(options.reset ? { reset: options.reset } : {}) },
    messages,
    upTo: messages.at(-1)?.id ?? String(after),
    more: options.more ?? false,
  };
  return { channel, requested: options.requested, replay, frames: messages.map((m) => `${m.channel}:${m.id}|`.padEnd(options.size ?? 10, '.')) };
}

const notices = {
  reset: (channel: string, reset: ContinuityReset) => `reset ${channel} ${reset.since}->${reset.after}|`,
  position: (channel: string, id: string) => `position ${channel} ${id}|`,
};
const page = (inputs: ChannelReplayInput[], budget = 1000) => multiReplayPage(inputs, notices, (f) => f.length, budget);

describe('a multi-channel replay page', () => {
  it("gives every channel its reset, its messages or its position, in the stream's order, and where each stands", () => {
    const reset: ContinuityReset = { reason: 'expired', since: '3', after: '5' };
    const result = page([input('a', 10, [11, 12], { requested: '10' }), input('b', 5, [6], { requested: '3', reset }), input('c', 40, [])]);
    expect(result.parts.join('')).toBe('a:11|.....a:12|.....reset b 3->5|b:6|......position c 40|');
    expect(result.positions).toEqual([['a', '12'], ['b', '6'], ['c', '40']]);
    expect(result).toMatchObject({ complete: true, replayed: 3 });
  });

  it('ends the page at the first channel that does not fit whole; the channels after it keep the position they were asked for', () => {
    const reset: ContinuityReset = { reason: 'restarted', since: '1', after: '0' };
    const result = page(
      [input('a', 0, [1, 2], { size: 40 }), input('b', 0, [1, 2, 3], { size: 40, requested: '0' }), input('c', 0, [7], { requested: '1', reset }), input('d', 9, [])],
      130,
    );
    expect(result.parts.join('')).toBe(`${'a:1|'.padEnd(40, '.')}${'a:2|'.padEnd(40, '.')}${'b:1|'.padEnd(40, '.')}`);
    // c's reset is not sent: the next page decides its plan again from what it asked for. d, live,
    // keeps the position its replay read (messages published meanwhile come on the next page).
    expect(result.positions).toEqual([['a', '2'], ['b', '1'], ['c', '1'], ['d', '9']]);
    expect(result).toMatchObject({ complete: false, replayed: 3 });
  });

  it('does not send a channel whose first message does not fit, nor its reset; and always sends one message', () => {
    const reset: ContinuityReset = { reason: 'expired', since: '1', after: '4' };
    const result = page([input('a', 0, [1], { size: 90 }), input('b', 4, [5], { size: 20, requested: '1', reset })], 100);
    expect(result.parts).toEqual(['a:1|'.padEnd(90, '.')]);
    expect(result.positions).toEqual([['a', '1'], ['b', '1']]);
    expect(page([input('a', 0, [1], { size: 5000 })], 100)).toMatchObject({ replayed: 1, complete: true });
  });

  it('links on when a channel has more retained than it read', () => {
    const result = page([input('a', 0, [1, 2], { more: true }), input('b', 3, [])]);
    expect(result).toMatchObject({ complete: false, positions: [['a', '2'], ['b', '3']] });
    expect(result.parts.join('')).not.toContain('position');
  });

  it('paged to the end, delivers every channel in order, each message once, within the budget (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(30), fc.integer({ min: 5, max: 60 })), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 60, max: 400 }),
        (channels, budget) => {
          // Each channel holds ids 1..n, read 4 at a time; every page starts again from the positions of the last.
          const limit = 4;
          let positions: Array<[string, string | undefined]> = channels.map((_, i) => [`c${i}`, '0']);
          const delivered = new Map<string, number[]>();
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThan(1000);
            const inputs = positions.map(([channel, since], i) => {
              const [n, size] = channels[i]!;
              const after = Number(since);
              const ids = Array.from({ length: Math.max(0, Math.min(limit, n - after)) }, (_, k) => after + k + 1);
              return input(channel, after, ids, { requested: since, more: n - after > limit, size });
            });
            const result = page(inputs, budget);
            const used = result.parts.filter((p) => !p.startsWith('position')).reduce((sum, p) => sum + p.length, 0);
            if (result.replayed > 1) expect(used).toBeLessThanOrEqual(budget);
            for (const part of result.parts) {
              const m = /^(c\d+):(\d+)\|/.exec(part);
              if (m) delivered.set(m[1]!, [...(delivered.get(m[1]!) ?? []), Number(m[2])]);
            }
            positions = result.positions;
            if (result.complete) break;
          }
          channels.forEach(([n], i) => expect(delivered.get(`c${i}`) ?? []).toEqual(Array.from({ length: n }, (_, k) => k + 1)));
          expect(positions).toEqual(channels.map(([n], i) => [`c${i}`, String(n)]));
        },
      ),
      { numRuns: 300 },
    );
  });
});
