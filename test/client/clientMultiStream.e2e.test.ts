// The client holding several channels over SSE and NDJSON, against the real stack through the edge:
// one stream for the channels subscribed together (counted at the client's fetch and in the origin's
// holds), every message once and in order per channel across a cut and across the reopenings when
// channels join and leave, one stream per token, and a channel its token does not grant ending alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClientOptions, type FanoutClient, type FetchLike } from '../../client/index.ts';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { recordSubscription, type SubscriptionRecord } from '../harness/clientRecorder.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

const SECRET = 'e2e-client-multi-stream-secret-0123456789ab';
let stack: TestStack;
let edge: string;
const clients: FanoutClient[] = [];
let unique = 0;

beforeAll(async () => {
  stack = await startTestStack({ edge: true, originEnv: { SUBSCRIBE_TOKEN_SECRET: SECRET } });
  edge = stack.urls.edge!;
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await stack?.stop();
});

/** A client whose stream requests (GET /events..., /stream...) are counted. */
function countingClient(options: ClientOptions): { client: FanoutClient; streams: string[] } {
  const streams: string[] = [];
  const fetch: FetchLike = (url, init) => {
    const { pathname, search } = new URL(url);
    if (/^\/(events|stream)(\/|$)/.test(pathname)) streams.push(pathname + search);
    return globalThis.fetch(url, init as RequestInit) as unknown as ReturnType<FetchLike>;
  };
  const client = createClient({ url: edge, fetch, idleTimeoutMs: 4000, backoff: { baseMs: 50, maxMs: 300 }, ...options });
  clients.push(client);
  return { client, streams };
}

async function publish(channel: string, data: unknown): Promise<string> {
  const response = await stack.publish({ channel, data });
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: Array<{ id: string }> }).messages[0]!.id;
}

async function holdsOpened(transport: string): Promise<number> {
  const text = await (await fetch(`${stack.urls.origin}/metrics`, { headers: { Authorization: `Bearer ${stack.publishToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`origin_holds_opened_total{transport="${transport}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const names = (...bases: string[]): string[] => {
  unique++;
  return bases.map((b) => `${b}-${unique}`);
};

/** Publishes round after round on every channel until stopped; resolves with the ids per channel. */
function publishing(channels: string[]): { stop(): Promise<Record<string, string[]>> } {
  const ids: Record<string, string[]> = Object.fromEntries(channels.map((c) => [c, []]));
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      for (const c of channels) ids[c]!.push(await publish(c, n));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return ids;
    },
  };
}

async function expectEvery(recs: Record<string, SubscriptionRecord>, ids: Record<string, string[]>): Promise<void> {
  for (const [channel, rec] of Object.entries(recs)) {
    await rec.waitForIds(ids[channel]!.length, 10_000);
    expect(rec.ids(), channel).toEqual(ids[channel]);
  }
}

describe('the client holds several channels on one stream', () => {
  for (const transport of ['sse', 'stream'] as const) {
    it(`${transport}: channels subscribed together share one stream; a cut and channels joining and leaving lose nothing`, async () => {
      const channels = names(`cms-${transport}-a`, `cms-${transport}-b`, `cms-${transport}-c`);
      const before = await holdsOpened(transport);
      const { client, streams } = countingClient({ transport, sse: 'fetch' });
      const since = Object.fromEntries(await Promise.all(channels.map(async (c) => [c, await publish(c, 'start')] as const)));
      const recs = Object.fromEntries(channels.map((c) => [c, recordSubscription(client.subscribe(c, { since: since[c]! }))]));
      await Promise.all(Object.values(recs).map((r) => r.sub.ready));
      expect(streams).toHaveLength(1);
      expect(streams[0]).toMatch(new RegExp(`^/${transport === 'sse' ? 'events' : 'stream'}\\?channel=`));
      expect(client.testing.connections()).toEqual([{ transport, open: true, channels }]);
      expect(await holdsOpened(transport)).toBe(before + 1);

      // Messages flow on all three; the stream is cut; two more channels join in one turn, one leaves.
      const flow = publishing(channels);
      await recs[channels[0]!]!.waitForIds(5);
      client.testing.cut();
      await recs[channels[0]!]!.waitForRecovery('cut');
      await recs[channels[0]!]!.waitForIds(recs[channels[0]!]!.ids().length + 3);
      const opened = streams.length;
      const more = names(`cms-${transport}-d`, `cms-${transport}-e`);
      const moreSince = Object.fromEntries(await Promise.all(more.map(async (c) => [c, await publish(c, 'start')] as const)));
      for (const c of more) recs[c] = recordSubscription(client.subscribe(c, { since: moreSince[c]! }));
      await Promise.all(more.map((c) => recs[c]!.sub.ready));
      expect(streams.length, 'two subscribes in one turn reopen the stream once').toBe(opened + 1);
      await new Promise((r) => setTimeout(r, 300));
      const ids = await flow.stop();
      await expectEvery(Object.fromEntries(channels.map((c) => [c, recs[c]!])), ids);
      const beforeUnsubscribe = streams.length;
      recs[channels[1]!]!.sub.unsubscribe();
      const last: Record<string, string[]> = {};
      for (const c of [channels[0]!, channels[2]!, ...more]) last[c] = [...recs[c]!.ids(), await publish(c, 'after')];
      await expectEvery(Object.fromEntries(Object.keys(last).map((c) => [c, recs[c]!])), last);
      // The unsubscribe reopens the stream without that channel (once; a gap met meanwhile, as the
      // proxy may drop under 8 KiB buffers, reopens it again, also without it).
      const reopened = streams.slice(beforeUnsubscribe);
      expect(reopened.length, 'an unsubscribe reopens it').toBeGreaterThanOrEqual(1);
      for (const url of reopened) expect(decodeURIComponent(url)).not.toContain(`channel=${channels[1]!}`);
      expect(client.testing.connections()).toEqual([{ transport, open: true, channels: [channels[0], channels[2], ...more] }]);
      for (const rec of Object.values(recs)) expect(rec.resets).toEqual([]);
    }, 30_000);
  }

  it('one stream per token: a token function shared by private channels is asked once; a channel its token does not grant ends alone', async () => {
    const [pub, mineA, mineB, other] = names('cms-open', 'private-cms-a', 'private-cms-b', 'private-cms-other');
    const { client, streams } = countingClient({ transport: 'stream' });
    let asked = 0;
    const token = async () => {
      asked++;
      return signSubscribeToken({ channels: [mineA!, mineB!], ttlSeconds: 120 }, SECRET);
    };
    const recs = {
      [pub!]: recordSubscription(client.subscribe(pub!)),
      [mineA!]: recordSubscription(client.subscribe(mineA!, { token })),
      [mineB!]: recordSubscription(client.subscribe(mineB!, { token })),
    };
    await Promise.all(Object.values(recs).map((r) => r.sub.ready));
    expect(asked).toBe(1);
    expect(streams).toHaveLength(2);
    expect(client.testing.connections().map((c) => c.channels)).toEqual(expect.arrayContaining([[mineA, mineB], [pub]]));
    const ids = { [pub!]: [await publish(pub!, 1)], [mineA!]: [await publish(mineA!, 1)], [mineB!]: [await publish(mineB!, 1)] };
    await expectEvery(recs, ids);

    // A fixed token for two channels that grants one: the other is refused (403 naming it), the first goes on.
    const fixed = await signSubscribeToken({ channels: [mineA!], ttlSeconds: 120 }, SECRET);
    const { client: second } = countingClient({ transport: 'sse', sse: 'fetch' });
    const granted = recordSubscription(second.subscribe(mineA!, { token: fixed }));
    const refused = recordSubscription(second.subscribe(other!, { token: fixed }));
    const error = await refused.waitForError();
    expect(error).toMatchObject({ code: 'forbidden', channel: other });
    expect(error.message).toMatch(new RegExp(`does not grant ${other}`));
    await granted.sub.ready;
    const id = await publish(mineA!, 2);
    await granted.waitForIds(1);
    expect(granted.ids()).toEqual([id]);
    expect(second.testing.connections()).toEqual([{ transport: 'sse', open: true, channels: [mineA] }]);
  }, 30_000);
});
