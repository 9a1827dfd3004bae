import { describe, expect, it } from 'vitest';
import { HistoryConflictError } from './historyStore.ts';
import { createMemoryHistoryStore } from './memoryHistoryStore.ts';

describe('in-memory history store', () => {
  it('assigns ids from 1 with prev-id "0" first, and replays after an id', async () => {
    const history = createMemoryHistoryStore({ maxMessagesPerChannel: 10, maxAgeMs: 60_000 });
    expect(await history.append('c', 'a')).toMatchObject({ message: { id: '1' }, prevId: '0' });
    expect(await history.append('c', 'b')).toMatchObject({ message: { id: '2' }, prevId: '1' });
    await expect(history.append('c', 'x', '2')).rejects.toBeInstanceOf(HistoryConflictError);
    expect((await history.append('c', 'c', '7')).prevId).toBe('2');
    expect((await history.readAfter('c', '1')).map((m) => m.id)).toEqual(['2', '7']);
    expect(await history.lastId('c')).toBe('7');
    expect(await history.lastId('empty')).toBeUndefined();
  });

  it('bounds each channel by count and by age', async () => {
    let clock = 0;
    const history = createMemoryHistoryStore({ maxMessagesPerChannel: 2, maxAgeMs: 1000 }, () => clock);
    for (const n of [1, 2, 3]) await history.append('c', n);
    expect((await history.readAfter('c', undefined)).map((m) => m.data)).toEqual([2, 3]);
    clock = 5000;
    expect(await history.readAfter('c', undefined)).toEqual([]);
    expect(await history.lastId('c')).toBe('3');
  });
});
