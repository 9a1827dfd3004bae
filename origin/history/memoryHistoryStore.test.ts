import { describe, expect, it } from 'vitest';
import { describeHistoryStore } from './historyStoreContract.ts';
import { createMemoryHistoryStore } from './memoryHistoryStore.ts';

const IDLE = 7 * 24 * 3600 * 1000;

describeHistoryStore('memory', {
  create: async (limits) => createMemoryHistoryStore({ ...limits, channelIdleMs: IDLE }),
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

  it('starts a restarted store above every id the previous one issued', async () => {
    const first = createMemoryHistoryStore({ maxMessagesPerChannel: 10, maxAgeMs: 60_000, channelIdleMs: IDLE });
    const issued = (await first.append('c', [{ data: 'a' }, { data: 'b' }, { data: 'c' }])).messages.at(-1)!.message.id;
    await new Promise((r) => setTimeout(r, 2));
    const restarted = createMemoryHistoryStore({ maxMessagesPerChannel: 10, maxAgeMs: 60_000, channelIdleMs: IDLE });
    const next = (await restarted.append('c', [{ data: 'd' }])).messages[0]!;
    expect(BigInt(next.message.id) > BigInt(issued)).toBe(true);
    expect(BigInt(next.prevId) >= BigInt(issued)).toBe(true);
  });
});
