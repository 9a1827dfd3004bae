import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareMessageIds } from '../../protocol/index.ts';
import type { ChannelPosition } from './historyStore.ts';
import { resumePlan } from './resumePlan.ts';

const EPOCH = '1796000000000000';
const plus = (id: string, n: number) => (BigInt(id) + BigInt(n)).toString();

describe('resume plans', () => {
  const position: ChannelPosition = { lastId: plus(EPOCH, 9), floorId: EPOCH, epochId: EPOCH };

  it('chain from where the epoch starts: "0", which its first message follows, while nothing has expired', () => {
    expect(resumePlan(position, '0')).toEqual({ afterId: '0' });
    expect(resumePlan(position, undefined)).toEqual({ afterId: plus(EPOCH, 9) });
    expect(resumePlan(position, plus(EPOCH, 4))).toEqual({ afterId: plus(EPOCH, 4) });
    expect(resumePlan(position, EPOCH)).toEqual({ afterId: EPOCH });
    expect(resumePlan(position, '123')).toEqual({ afterId: '0', reset: { reason: 'restarted', since: '123', after: '0' } });
    expect(resumePlan(position, plus(EPOCH, 10))).toEqual({ afterId: '0', reset: { reason: 'ahead', since: plus(EPOCH, 10), after: '0' } });
  });

  it('from the floor once part of the epoch expired', () => {
    const trimmed = { ...position, floorId: plus(EPOCH, 5) };
    expect(resumePlan(trimmed, '0')).toEqual({ afterId: plus(EPOCH, 5), reset: { reason: 'expired', since: '0', after: plus(EPOCH, 5) } });
    expect(resumePlan(trimmed, plus(EPOCH, 2))).toMatchObject({ afterId: plus(EPOCH, 5), reset: { reason: 'expired' } });
    expect(resumePlan(trimmed, plus(EPOCH, 5))).toEqual({ afterId: plus(EPOCH, 5) });
  });

  it('on a channel with no message: everything is "0", anything at or above the epoch is ahead, below it restarted', () => {
    const empty: ChannelPosition = { lastId: '0', floorId: '0', epochId: EPOCH };
    expect(resumePlan(empty, undefined)).toEqual({ afterId: '0' });
    expect(resumePlan(empty, '0')).toEqual({ afterId: '0' });
    expect(resumePlan(empty, plus(EPOCH, 1)).reset?.reason).toBe('ahead');
    expect(resumePlan(empty, '77').reset?.reason).toBe('restarted');
  });

  it('never plans to continue from a position the history cannot continue, and every reset says where it goes on (property)', () => {
    const id = fc.bigInt({ min: 1n, max: 10n ** 17n }).map(String);
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.nat({ max: 1000 }), fc.oneof(id, fc.constant('0')), (kept, expiredCount, requested) => {
        const lastId = plus(EPOCH, kept + expiredCount);
        const floorId = plus(EPOCH, expiredCount);
        const p: ChannelPosition = kept + expiredCount === 0 ? { lastId: '0', floorId: '0', epochId: EPOCH } : { lastId, floorId, epochId: EPOCH };
        const plan = resumePlan(p, requested);
        if (plan.reset) expect(plan.afterId).toBe(plan.reset.after);
        // What it reads from is retained: "0" only while nothing expired, else at or above the floor.
        if (plan.afterId === '0') expect(expiredCount).toBe(0);
        else expect(compareMessageIds(plan.afterId, p.floorId)).toBeGreaterThanOrEqual(0);
        // Without a reset it continues exactly from the requested position.
        if (!plan.reset && requested !== '0') expect(plan.afterId).toBe(requested);
      }),
    );
  });
});
