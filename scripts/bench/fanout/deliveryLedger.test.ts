import { describe, expect, it } from 'vitest';
import { arrived, countAgainst, newLedger, newTally } from './deliveryLedger.ts';

describe('deliveryLedger', () => {
  it('a delivery once is received; twice, a duplicate; never, lost', () => {
    const tally = newTally();
    const a = newLedger('10');
    const b = newLedger('10');
    arrived(a, tally, '11', 1000, 1010);
    arrived(a, tally, '12', 1000, 1020);
    arrived(a, tally, '12', 1000, 1030);
    arrived(b, tally, '12', 1000, 1040);
    expect(countAgainst([a, b], ['11', '12'])).toEqual({ received: 3, lost: 1, duplicates: 1, outOfOrder: 0, subscribersWithLoss: 1 });
    expect(tally.latency.count).toBe(3);
    expect(tally.firstAt).toBe(1010);
    expect(tally.lastAt).toBe(1040);
    expect(a.lastId).toBe('12');
  });

  it('ids the publisher never sent count as neither received nor lost', () => {
    const tally = newTally();
    const a = newLedger();
    arrived(a, tally, 'warm-up', 0, 1);
    expect(countAgainst([a], ['1'])).toEqual({ received: 0, lost: 1, duplicates: 0, outOfOrder: 0, subscribersWithLoss: 1 });
  });
});
