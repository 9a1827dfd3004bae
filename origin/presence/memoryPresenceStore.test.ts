import { describe, expect, it } from 'vitest';
import { createMemoryPresenceStore, type MemoryPresenceStore } from './memoryPresenceStore.ts';
import { describePresenceStore } from './presenceStoreContract.ts';

describePresenceStore('memory', {
  create: async (limits) => createMemoryPresenceStore(limits),
  holds: async (store, channel) => {
    const memory = store as MemoryPresenceStore;
    // Reading claims lapsed leases and keeps nothing for an empty channel; count before and after.
    const before = memory.channelCount;
    const read = await memory.read(channel, { limit: 1 });
    return read.occupancy.connections > 0 || memory.channelCount > before;
  },
});

describe('memory presence store', () => {
  it('visits in a sweep only channels with a lease due, on its own clock', async () => {
    let now = 1000;
    const store = createMemoryPresenceStore(undefined, () => now);
    await store.touch([{ channel: 'a', connection: 'ws:1', transport: 'websocket' }], 100);
    await store.touch([{ channel: 'b', connection: 'ws:1', transport: 'websocket' }], 10_000);
    now = 1100;
    expect((await store.sweep()).map((c) => `${c.type}:${c.channel}`)).toEqual(['channel_vacated:a']);
    expect(store.channelCount).toBe(1);
    await store.close();
    expect(store.channelCount).toBe(0);
  });
});
