// What the publish path leaves in flight once the proxy's answer is in (or is not): a WebSocket
// subscribe waits for the publishes in flight on its channel (websocket/wsSubscribe.ts), so a request
// the proxy may still act on must stay in flight, and one it answered must not.
import { describe, expect, it } from 'vitest';
import { createMemoryHistoryStore } from '../history/memoryHistoryStore.ts';
import { DEFAULT_IN_FLIGHT_TTL_MS } from '../history/historyStore.ts';
import { createGripPublisher } from './gripPublisher.ts';
import { createMessagePublisher, DeliveryError } from './messagePublisher.ts';

const CHANNEL = 'late';
/** Short, so a test runs in well under a second: each attempt waits this long for an answer. */
const ATTEMPT_MS = 40;
const DEADLINE_MS = 150;

/**
 * A proxy stand-in: each request gets the next reply (then 200); 'hang' never answers (the attempt
 * times out); 'hang*' never answers any request.
 */
function scriptedProxy(script: Array<number | 'hang'> | 'hang*') {
  let replies = script;
  let requests = 0;
  const fetchImpl = ((_url: string | URL | Request, init?: RequestInit) => {
    requests++;
    const reply = replies === 'hang*' ? 'hang' : (replies.shift() ?? 200);
    if (reply !== 'hang') return Promise.resolve(new Response('', { status: reply }));
    return new Promise<Response>((_resolve, reject) => {
      const signal = init?.signal;
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }) as typeof fetch;
  return { fetchImpl, requests: () => requests, answerAll: () => (replies = []) };
}

function publisherWith(replies: Array<number | 'hang'> | 'hang*') {
  let offsetMs = 0;
  const now = () => Date.now() + offsetMs;
  const history = createMemoryHistoryStore({ maxMessagesPerChannel: 100, maxAgeMs: 600_000, channelIdleMs: 600_000 }, now);
  const proxy = scriptedProxy(replies);
  const grip = createGripPublisher([{ control_uri: 'http://proxy.invalid' }], {
    fetchImpl: proxy.fetchImpl,
    retryPolicy: { attemptTimeoutMs: ATTEMPT_MS, deadlineMs: DEADLINE_MS, minAttemptMs: 10, baseDelayMs: 1, maxDelayMs: 2 },
    random: () => 0,
  });
  const publisher = createMessagePublisher(history, grip, { publishDeadlineMs: DEADLINE_MS });
  return { history, publisher, proxy, advance: (ms: number) => (offsetMs += ms) };
}

describe('messages in flight after the proxy answered, or did not', () => {
  it('a request that timed out stays in flight after the publish gave up (the proxy may still deliver it)', async () => {
    const { history, publisher, proxy, advance } = publisherWith('hang*');
    const error = await publisher.publish([{ channel: CHANNEL, data: 'x' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    const [stored] = (error as DeliveryError).stored;
    expect(stored!.channel).toBe(CHANNEL);
    expect(proxy.requests()).toBeGreaterThanOrEqual(2);
    // A subscribe that begins now must wait for it (and answers subscribe_busy while it lasts).
    expect(await history.stillInFlight(CHANNEL, [stored!.id])).toEqual([stored!.id]);
    const start = await history.beginSubscribe(CHANNEL, 'u1', 30_000, 10);
    expect(start.busy === false && start.inFlight).toEqual([stored!.id]);
    // Until the in-flight TTL: then subscribes go on again.
    advance(DEFAULT_IN_FLIGHT_TTL_MS - 1000);
    expect(await history.stillInFlight(CHANNEL, [stored!.id])).toEqual([stored!.id]);
    advance(1000);
    expect(await history.stillInFlight(CHANNEL, [stored!.id])).toEqual([]);
  });

  it('a timed-out attempt whose retry was taken still leaves its messages in flight (the first request may come late)', async () => {
    const { history, publisher, proxy } = publisherWith(['hang', 200]);
    const [message] = await publisher.publish([{ channel: CHANNEL, data: 'x' }]);
    expect(proxy.requests()).toBe(2);
    expect(await history.stillInFlight(CHANNEL, [message!.id])).toEqual([message!.id]);
  });

  it('a request the proxy answered is no longer in flight: taken, refused for good, or refused until the deadline', async () => {
    for (const replies of [[200], [400], [503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503]]) {
      const { history, publisher } = publisherWith(replies);
      const outcome = await publisher.publish([{ channel: CHANNEL, data: 'x' }]).then(
        (messages) => messages.map((m) => m.id),
        (error: unknown) => (error as DeliveryError).stored.map((m) => m.id),
      );
      expect(outcome).toHaveLength(1);
      expect(await history.stillInFlight(CHANNEL, outcome)).toEqual([]);
    }
  });

  it('only the jobs of the unanswered request stay in flight; the caller hears what was stored and why', async () => {
    // Two callers in one flush (one body): both stay. A third, published after, is answered and lands.
    const { history, publisher, proxy } = publisherWith('hang*');
    const [a, b] = await Promise.all([
      publisher.publish([{ channel: CHANNEL, data: 'a' }]).catch((e: unknown) => e as DeliveryError),
      publisher.publish([{ channel: 'other', data: 'b' }]).catch((e: unknown) => e as DeliveryError),
    ]);
    expect(a).toBeInstanceOf(DeliveryError);
    expect(b).toBeInstanceOf(DeliveryError);
    expect((a as DeliveryError).message).toMatch(/no answer within/);
    const idA = (a as DeliveryError).stored[0]!.id;
    const idB = (b as DeliveryError).stored[0]!.id;
    expect(await history.stillInFlight(CHANNEL, [idA])).toEqual([idA]);
    expect(await history.stillInFlight('other', [idB])).toEqual([idB]);
    proxy.answerAll();
    const [c] = await publisher.publish([{ channel: 'third', data: 'c' }]);
    expect(await history.stillInFlight('third', [c!.id])).toEqual([]);
  });
});
