// A WebSocket client's publish with skipSelf: the message's WebSocket item names the connection in
// its skip_users meta (the skip-users filter every WebSocket subscription carries drops it there), the
// other items are untouched, and the answer names the position the message follows.
import { describe, expect, it } from 'vitest';
import { createChannelAccess } from '../access/channelAccess.ts';
import { createMemoryHistoryStore } from '../history/memoryHistoryStore.ts';
import type { GripPublishItem } from '../publishing/gripItems.ts';
import type { GripPublisher } from '../publishing/gripPublisher.ts';
import { createMessagePublisher } from '../publishing/messagePublisher.ts';
import type { WebSocketEvent } from './websocketEvents.ts';
import { runWsSession } from './wsSession.ts';
import type { WsSessionState } from './wsSessionState.ts';
import { createWsStateSeal, sealedBarriers } from './wsStateSeal.ts';
import { DEFAULT_SUBSCRIBE_LIMITS } from './wsSubscribe.ts';

describe('skip-self on a WebSocket publish', () => {
  it('names the publishing connection in its WebSocket item only, and answers with the position it follows', async () => {
    const history = createMemoryHistoryStore({ maxMessagesPerChannel: 100, maxAgeMs: 3_600_000, channelIdleMs: 3_600_000 });
    const sent: GripPublishItem[] = [];
    const grip: GripPublisher = {
      publish: async (items) => void sent.push(...items),
      encode: () => [],
      publishEncoded: async (requests) => {
        for (const { body } of requests) sent.push(...(JSON.parse(body) as { items: GripPublishItem[] }).items);
      },
      targets: ['recording'],
    };
    const publisher = createMessagePublisher(history, grip);
    const seal = createWsStateSeal('a-skip-self-test-secret');
    const state: WsSessionState = { user: 'Publisher0001', subscriptions: [], pending: [], barrier: 0, grants: [] };
    const run = (frame: unknown) =>
      runWsSession([{ type: 'TEXT', content: Buffer.from(JSON.stringify(frame)) } satisfies WebSocketEvent], state, {
        history,
        access: createChannelAccess({ privatePrefix: 'private-' }),
        publish: async (input) => (await publisher.publish([input]))[0]!,
        newUser: () => 'Unused000000',
        now: Date.now,
        barriers: sealedBarriers(seal, 'c1'),
      }, { maxSubscriptions: 20, limits: DEFAULT_SUBSCRIBE_LIMITS, keepAliveSeconds: 25 });
    const answer = (result: Awaited<ReturnType<typeof run>>) => JSON.parse(result.out[0]!.content!.toString().slice(2)) as Record<string, unknown>;

    const first = answer(await run({ type: 'publish', channel: 'chat', data: 1 }));
    expect(first).toEqual({ type: 'published', channel: 'chat', id: expect.any(String) });
    const own = answer(await run({ type: 'publish', channel: 'chat', data: 2, skipSelf: true }));
    expect(own).toEqual({ type: 'published', channel: 'chat', id: expect.any(String), prev: first.id });
    const wsItems = sent.filter((i) => i.channel === 'ws:chat');
    expect(wsItems.map((i) => i.meta)).toEqual([undefined, { skip_users: 'Publisher0001' }]);
    expect(sent.filter((i) => i.channel !== 'ws:chat' && i.meta !== undefined)).toEqual([]);
  });
});
