// Member events end to end, through the edge, Pushpin and the origin: a WebSocket that subscribed with
// "presenceEvents", SSE and NDJSON streams opened with ?presence=1, and the client library on a
// WebSocket and on SSE (`presence` option, `on('presence')`, `presence()`) each see a member join and
// leave once, however many connections the member has; a subscriber that did not ask sees none.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type FanoutClient, type PresenceEvent, type TransportName } from '../../client/index.ts';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { createEventStreamReader, parseNdjsonLine, parseSseEvent, type StreamItem } from '../../protocol/index.ts';
import { createArrivals, type Arrivals } from '../harness/arrivals.ts';
import { streamLines } from '../harness/streamLines.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { recordWs, untilLive, type WsRecorder } from '../harness/wsClient.ts';

const SECRET = 'e2e-presence-events-secret-0123456789abcdef';
const CHANNEL = 'private-events';
let stack: TestStack;
let edge: string;
const closers: Array<() => void> = [];

const token = (claims: { sub?: string; info?: Record<string, unknown> } = {}) => signSubscribeToken({ channels: [CHANNEL], ttlSeconds: 600, ...claims }, SECRET);

/** A stream's items as they arrive (SSE or NDJSON through fetch). */
function recordStream(kind: 'sse' | 'stream', url: string): Arrivals<StreamItem> {
  const items = createArrivals<StreamItem>(`${kind} items`);
  const abort = new AbortController();
  closers.push(() => abort.abort());
  void (async () => {
    const response = await fetch(url, { signal: abort.signal, headers: kind === 'sse' ? { Accept: 'text/event-stream' } : {} });
    const decoder = new TextDecoder();
    const sse = createEventStreamReader({ event: (e) => items.push(parseSseEvent(e.type, e.data)) });
    if (kind === 'sse') {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) sse.push(decoder.decode(chunk, { stream: true }));
    } else {
      for await (const line of streamLines(response.body!)) if (line.trim()) items.push(parseNdjsonLine(line));
    }
  })().catch(() => {});
  return items;
}

/** Publishes probe messages until `seen` says one arrived: the subscription is live in the proxy. */
async function untilProbed(seen: () => boolean, what: string): Promise<void> {
  for (let n = 0; n < 60; n++) {
    await stack.publish({ channel: CHANNEL, data: { probe: n } });
    await new Promise((r) => setTimeout(r, 250));
    if (seen()) return;
  }
  throw new Error(`${what} never became live`);
}
const isProbe = (data: unknown) => typeof data === 'object' && data !== null && 'probe' in data;

function client(transport: TransportName): FanoutClient {
  const c = createClient({ url: edge, WebSocket, transport, sse: 'fetch' });
  closers.push(() => c.close());
  return c;
}

async function member(sub: string, info?: Record<string, unknown>): Promise<WsRecorder> {
  const ws = recordWs(edge);
  closers.push(() => ws.socket.terminate());
  await ws.opened;
  ws.send({ type: 'subscribe', channel: CHANNEL, token: await token({ sub, ...(info ? { info } : {}) }), presence: true });
  await ws.waitFor(1, (f) => f.type === 'subscribed');
  return ws;
}

beforeAll(async () => {
  stack = await startTestStack({ edge: true, originEnv: { SUBSCRIBE_TOKEN_SECRET: SECRET, PRESENCE_KEEP_ALIVE_SECONDS: '20' } });
  edge = stack.urls.edge!;
}, 120_000);

afterAll(async () => {
  for (const close of closers) close();
  await stack?.stop();
});

describe('member events on every transport', () => {
  it('reach every subscriber that asked for them, once per member, and none that did not', async () => {
    const t = await token();
    // A WebSocket watcher (no sub: it watches, it is no member) and one that did not ask.
    const wsWatcher = recordWs(edge);
    const wsPlain = recordWs(edge);
    closers.push(() => wsWatcher.socket.terminate(), () => wsPlain.socket.terminate());
    await Promise.all([wsWatcher.opened, wsPlain.opened]);
    wsWatcher.send({ type: 'subscribe', channel: CHANNEL, token: t, presenceEvents: true });
    wsPlain.send({ type: 'subscribe', channel: CHANNEL, token: t });
    await Promise.all([wsWatcher, wsPlain].map((ws) => ws.waitFor(1, (f) => f.type === 'subscribed')));
    await untilLive(wsWatcher, CHANNEL, stack.publish);
    await untilLive(wsPlain, CHANNEL, stack.publish);
    const sse = recordStream('sse', `${edge}/events/${CHANNEL}?presence=1&token=${t}`);
    const ndjson = recordStream('stream', `${edge}/stream/${CHANNEL}?presence=1&token=${t}`);
    await untilProbed(() => sse.items.some((i) => i.kind === 'message' && isProbe(i.message.data)), 'SSE');
    await untilProbed(() => ndjson.items.some((i) => i.kind === 'message' && isProbe(i.message.data)), 'NDJSON');
    // The client library, watching on a WebSocket and on SSE.
    const watched: Record<string, PresenceEvent[]> = { websocket: [], sse: [] };
    for (const transport of ['websocket', 'sse'] as const) {
      const sub = client(transport).subscribe(CHANNEL, { token: t, presence: { events: true } });
      sub.on('presence', (e) => watched[transport]!.push(e));
      let probed = false;
      sub.on('message', (m) => (probed ||= isProbe(m.data)));
      await sub.ready;
      await untilProbed(() => probed, `the client on ${transport}`);
    }

    // A member with two connections: joins once, leaves once.
    const first = await member('ann', { name: 'Ann' });
    const second = await member('ann', { name: 'Ann' });
    first.close(1000);
    await first.closed;
    second.close(1000);

    const expected = [
      { action: 'member_joined', channel: CHANNEL, clientId: 'ann', info: { name: 'Ann' } },
      { action: 'member_left', channel: CHANNEL, clientId: 'ann', info: { name: 'Ann' } },
    ];
    const frames = await wsWatcher.waitFor(2, (f) => f.type === 'presence', 15_000);
    expect(frames.map(({ type: _t, ts: _ts, ...rest }) => rest)).toEqual(expected);
    for (const stream of [sse, ndjson]) {
      const events = await stream.waitFor(2, { match: (i) => i.kind === 'presence', timeoutMs: 15_000 });
      expect(events.map((i) => (i.kind === 'presence' ? { ...i.event, ts: 0 } : i))).toEqual(expected.map((e) => ({ ...e, ts: 0 })));
    }
    for (const transport of ['websocket', 'sse']) {
      await expect.poll(() => watched[transport]!.length, { timeout: 15_000 }).toBe(2);
      expect(watched[transport]!.map(({ ts: _ts, ...rest }) => rest)).toEqual(expected);
    }
    // Each event is one and the same on every transport (its time included).
    expect(new Set([frames[1]!.ts, watched.websocket![1]!.ts, watched.sse![1]!.ts]).size).toBe(1);
    // Nothing more arrived anywhere meanwhile, and the plain subscriber got none.
    expect(wsWatcher.frames.filter((f) => f.type === 'presence')).toHaveLength(2);
    expect(wsPlain.frames.filter((f) => f.type === 'presence')).toEqual([]);
  }, 120_000);

  it('enters the client into presence with `presence: true`, and reads it with presence()', async () => {
    const c = client('websocket');
    const me = c.subscribe(CHANNEL, { token: () => token({ sub: 'cli', info: { via: 'client' } }), presence: true });
    const events: PresenceEvent[] = [];
    me.on('presence', (e) => events.push(e));
    await me.ready;
    const snapshot = await me.presence();
    expect(snapshot.members).toContainEqual({ clientId: 'cli', info: { via: 'client' }, connections: 1 });
    expect(snapshot.occupancy.byTransport.websocket).toBeGreaterThanOrEqual(1);
    // Its subscription is live: another member's joining reaches it.
    let probed = false;
    me.on('message', (m) => (probed ||= isProbe(m.data)));
    await untilProbed(() => probed, 'the client member');
    const other = await member('bea');
    await expect.poll(() => events.map((e) => `${e.action}:${e.clientId}`), { timeout: 15_000 }).toContain('member_joined:bea');
    other.close(1000);
    await expect.poll(() => events.map((e) => `${e.action}:${e.clientId}`), { timeout: 15_000 }).toContain('member_left:bea');
    // The unsubscribe frame reaches the origin through the proxy after unsubscribe() returns: the member
    // leaves a moment later (a read at once saw it still there once, on a loaded fresh-clone run).
    me.unsubscribe();
    const reader = client('websocket').subscribe(CHANNEL, { token: await token() });
    await expect.poll(async () => (await reader.presence()).members.map((m) => m.clientId), { timeout: 15_000 }).not.toContain('cli');
  }, 60_000);

  it('keeps the events of a stream that pages through its replay (the hold comes from a next link)', async () => {
    const channel = 'private-events-paged';
    const t = await signSubscribeToken({ channels: [channel], ttlSeconds: 600 }, SECRET);
    // More than a replay page (100 messages): the first answer holds nothing and links to the next page.
    const response = await stack.publish({ items: Array.from({ length: 150 }, (_, i) => ({ channel, data: i })) });
    expect(response.status).toBe(200);
    for (const kind of ['sse', 'stream'] as const) {
      const url = `${edge}/${kind === 'sse' ? 'events' : 'stream'}/${channel}?presence=1&token=${t}&${kind === 'sse' ? 'lastEventId' : 'since'}=0`;
      const items = recordStream(kind, url);
      await items.waitFor(150, { match: (i) => i.kind === 'message', timeoutMs: 15_000 });
      for (let n = 0; n < 60 && !items.items.some((i) => i.kind === 'message' && isProbe(i.message.data)); n++) {
        await stack.publish({ channel, data: { probe: n } });
        await new Promise((r) => setTimeout(r, 250));
      }
      const ws = recordWs(edge);
      closers.push(() => ws.socket.terminate());
      await ws.opened;
      ws.send({ type: 'subscribe', channel, token: await signSubscribeToken({ channels: [channel], ttlSeconds: 600, sub: `paged-${kind}` }, SECRET), presence: true });
      // Its own member's join (the previous pass's member may still be leaving: its leave can come first).
      const [event] = await items.waitFor(1, {
        match: (i) => i.kind === 'presence' && i.event.clientId === `paged-${kind}`,
        timeoutMs: 15_000,
      });
      expect(event).toMatchObject({ kind: 'presence', event: { action: 'member_joined', clientId: `paged-${kind}` } });
      ws.close(1000);
    }
  }, 90_000);
});
