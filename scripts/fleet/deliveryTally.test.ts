import { describe, expect, it } from 'vitest';
import type { SubscriptionStats, TransportName } from '../../client/index.ts';
import { describeMisses, everyoneHasEverything, formatTally, tallyDeliveries, tallyFailed, type TalliedMember } from './deliveryTally.ts';
import { IdRuns } from './idRuns.ts';

function member(transport: TransportName, channel: string, ids: number[], stats: Partial<SubscriptionStats> = {}): TalliedMember & { repeated: number } {
  const runs = new IdRuns();
  let repeated = 0;
  let outOfOrder = 0;
  for (const id of ids) {
    const arrival = runs.add(id);
    if (arrival === 'repeat') repeated++;
    if (arrival === 'out-of-order') outOfOrder++;
  }
  return {
    transport,
    channel,
    ids: runs,
    repeated,
    outOfOrder,
    stats: { messages: ids.length, duplicates: 0, resets: 0, reconnects: 0, connectFailures: 0, recoveries: {}, ...stats },
    position: String(ids.at(-1) ?? 0),
    live: true,
    history: ['0.1s open websocket'],
  };
}

describe('delivery tally', () => {
  const expected = new Map([['a', new Set([1, 2, 3, 4])], ['b', new Set([10, 11])]]);

  it('counts per transport what was delivered, lost, handed on twice or out of order, and sums the clients’ counters', () => {
    const members = [
      member('websocket', 'a', [1, 2, 3, 4], { duplicates: 2, reconnects: 1, recoveries: { gap: 1 } }),
      member('websocket', 'b', [10, 11, 11], { reconnects: 2, recoveries: { cut: 2 } }),
      member('sse', 'a', [1, 3, 2, 99], { resets: 1 }),
    ];
    const tallies = tallyDeliveries(members, expected);
    expect(tallies.map((t) => t.transport)).toEqual(['websocket', 'sse']);
    expect(tallies[0]).toMatchObject({ clients: 2, expected: 6, delivered: 6, lost: 0, duplicated: 1, outOfOrder: 0, unexpected: 0, duplicatesDropped: 2, reconnects: 3, recoveries: { gap: 1, cut: 2 } });
    expect(tallies[1]).toMatchObject({ clients: 1, expected: 4, delivered: 3, lost: 1, duplicated: 0, outOfOrder: 1, unexpected: 1, resets: 1 });
    expect(tallies.map(tallyFailed)).toEqual([true, true]);
    expect(formatTally('case', tallies)).toBe(
      '[fault] case | websocket 2 clients: delivered 6/6, lost 0, duplicated 1, duplicates dropped 2, reconnects 3 (recoveries: cut 2, gap 1)' +
        ' | sse 1 clients: delivered 3/4, lost 1, duplicated 0, out of order 1, unexpected 1, duplicates dropped 0, reconnects 0, resets 1',
    );
    expect(formatTally('soak', tallies.slice(0, 1), 'soak')).toMatch(/^\[soak\] soak \| websocket/);
  });

  it('knows when everyone has everything, and says who missed what', () => {
    const complete = [member('stream', 'a', [1, 2, 3, 4]), member('poll', 'b', [10, 11])];
    expect(everyoneHasEverything(complete, expected)).toBe(true);
    expect(tallyDeliveries(complete, expected).some(tallyFailed)).toBe(false);
    const missing = [...complete, member('poll', 'a', [1, 4])];
    expect(everyoneHasEverything(missing, expected)).toBe(false);
    const report = describeMisses(missing, expected);
    expect(report).toContain('a: expected 4 ids, 1..4');
    expect(report).toContain('poll: 1 member(s) missed or doubled something; missed (id x members): 2x1 3x1');
    expect(report).toContain('on a: missing 2 (2, 3), handed on twice 0, out of order 0, holds 1, 4, at 4, live');
    expect(report).not.toContain('stream:');
  });
});
