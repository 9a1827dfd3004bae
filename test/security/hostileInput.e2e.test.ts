// Hostile input against the real stack (origin, Pushpin, and the edge on the local Compute host):
// generated publish bodies and WebSocket frames, channel names of 10,000 characters on every route,
// oversized heads, and bodies trickled a byte at a time. Nothing answers 5xx, crashes or hangs; every
// refusal is a clear 4xx (JSON where the origin answers); and the history holds exactly what was
// accepted: nothing stored twice, nothing lost.
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from 'vitest';
import { LOCAL_GRIP_SIG_ISS, LOCAL_GRIP_SIG_KEY } from '../../scripts/pushpin/pushpinConfig.ts';
import { rawRequest, trickleBody, trickleHead } from '../harness/rawSocket.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { recordWs, type WsFrame, type WsRecorder } from '../harness/wsClient.ts';

const REQUEST_TIMEOUT_SECONDS = 3;
let stack: TestStack;
let edge: string;
beforeAll(async () => {
  stack = await startTestStack({
    // The local Compute host's head timeout (default 30 s), shortened like the origin's.
    edge: { env: { COMPUTE_HOST_HEAD_TIMEOUT_MS: String(REQUEST_TIMEOUT_SECONDS * 1000) } },
    originEnv: { ALLOW_CLIENT_PUBLISH: 'true', REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS), LONG_POLL_TIMEOUT_SECONDS: '5' },
  });
  edge = stack.urls.edge!;
});
afterAll(async () => {
  await stack?.stop();
});

const gripSig = () =>
  new SignJWT({ iss: LOCAL_GRIP_SIG_ISS, exp: Math.floor(Date.now() / 1000) + 600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(LOCAL_GRIP_SIG_KEY));

interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

/** The answer's status and JSON body (undefined when it is not JSON). */
async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body };
}

/** A refusal the caller can act on: 4xx, JSON, with an error code and a message. */
function expectClearRefusal(answer: Answer, context: string): void {
  expect(answer.status, context).toBeGreaterThanOrEqual(400);
  expect(answer.status, context).toBeLessThan(500);
  expect(answer.contentType, context).toMatch(/application\/json/);
  expect(answer.body, context).toMatchObject({ error: expect.any(String), message: expect.any(String) });
}

/** Everything the history holds for a channel, oldest first. */
async function historyOf(channel: string): Promise<Array<{ id: string; data: unknown }>> {
  const all: Array<{ id: string; data: unknown }> = [];
  for (let since = '0'; ; ) {
    const response = await fetch(`${stack.urls.origin}/api/channels/${channel}/messages?since=${since}&limit=1000`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as { messages: Array<{ id: string; data: unknown }>; next?: string };
    all.push(...page.messages.map((m) => ({ id: m.id, data: m.data })));
    if (!page.next) return all;
    since = page.next;
  }
}

/** What was accepted, per channel and id, to compare with the history afterwards. */
class Ledger {
  readonly accepted = new Map<string, Map<string, string>>();

  /** `expect`: the test's own (cases run side by side). */
  constructor(private readonly expect: ExpectStatic) {}

  record(channel: string, id: string, data: unknown): void {
    const ids = this.accepted.get(channel) ?? new Map<string, string>();
    const json = JSON.stringify(data);
    const earlier = ids.get(id);
    if (earlier !== undefined) this.expect(earlier, `id ${id} on ${channel} answered twice with different data`).toBe(json);
    ids.set(id, json);
    this.accepted.set(channel, ids);
  }

  /** The history holds every accepted message once, with its data, and nothing else. */
  async expectHistory(channels: Iterable<string>): Promise<number> {
    const expect = this.expect;
    let count = 0;
    for (const channel of channels) {
      const history = await historyOf(channel);
      const ids = history.map((m) => m.id);
      expect(new Set(ids).size, `duplicates on ${channel}`).toBe(ids.length);
      const expected = this.accepted.get(channel) ?? new Map<string, string>();
      expect([...ids].sort(), `history of ${channel}`).toEqual([...expected.keys()].sort());
      for (const message of history) expect(JSON.stringify(message.data)).toBe(expected.get(message.id));
      count += ids.length;
    }
    return count;
  }
}

// --- generated publish bodies ---------------------------------------------------------------------

const CHANNELS = ['h-a', 'h-b', 'h-c.d', 'h_e'];
const channel = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CHANNELS) },
  { weight: 1, arbitrary: fc.constantFrom('', '.h', 'h:a', 'ws:h-a', 'c'.repeat(129), 'c'.repeat(10_000), 'ñ', 'a b', '../h-a', '__proto__') },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);
const data = fc.oneof(
  fc.jsonValue({ maxDepth: 5 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.constantFrom('\u0000', '\u2028', '<script>alert(1)</script>', JSON.parse('{"__proto__":{"polluted":1}}') as unknown, 'x'.repeat(70_000)),
);
const requestedId = fc.oneof(fc.constantFrom('0', '01', '-1', '1'.repeat(19), '', 'abc', '999999999999999999', '1'), fc.integer(), fc.constant(null));
const item = fc.oneof(
  { weight: 4, arbitrary: fc.record({ channel: fc.constantFrom(...CHANNELS), data }) },
  { weight: 2, arbitrary: fc.record({ channel, data, id: requestedId }, { requiredKeys: ['channel'] }) },
);
const jsonBody = fc.oneof(
  { weight: 3, arbitrary: item },
  { weight: 2, arbitrary: fc.record({ items: fc.oneof(fc.array(item, { minLength: 0, maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })) }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
const bodyText = fc.oneof(
  { weight: 8, arbitrary: jsonBody.map((b) => JSON.stringify(b) ?? 'null') },
  { weight: 1, arbitrary: jsonBody.map((b) => (JSON.stringify(b) ?? '').slice(0, -1)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 200_000 }).map((depth) => `{"channel":"h-a","data":${'['.repeat(depth)}${']'.repeat(depth)}}`) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"channel":"h-a","data":1}{"x":1}', '\ufeff{"channel":"h-a","data":1}', '{"channel":"h-a","data":1e999}') },
);
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined) },
);
const publishRequest = fc.record({
  body: bodyText,
  contentType,
  contentEncoding: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'identity') }),
  via: fc.constantFrom('origin' as const, 'edge' as const),
  retryEarlier: fc.boolean(),
});

/** A body as the origin reads it (a leading byte-order mark is allowed, as JSON parsers for HTTP do). */
const parseSent = (body: string): unknown => JSON.parse(body.replace(/^\ufeff/, ''));

describe('POST /api/publish with generated hostile bodies', () => {
  it('answers every one with a result or a clear 4xx, and stores exactly what it accepted (straight and through the edge)', async () => {
    const ledger = new Ledger(expect);
    const acceptedBodies: string[] = [];
    const statuses = new Map<number, number>();
    const send = async (request: { body: string; contentType: string | undefined; contentEncoding: string | undefined; via: 'origin' | 'edge' }) => {
      const headers: Record<string, string> = { Authorization: `Bearer ${stack.publishToken}` };
      if (request.contentType) headers['Content-Type'] = request.contentType;
      if (request.contentEncoding) headers['Content-Encoding'] = request.contentEncoding;
      const base = request.via === 'origin' ? stack.urls.origin : edge;
      return answerOf(await fetch(`${base}/api/publish`, { method: 'POST', headers, body: request.body }));
    };
    await fc.assert(
      fc.asyncProperty(publishRequest, async (request) => {
        const answer = await send(request);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const context = `${request.via} ${request.contentType} ${request.contentEncoding}: ${request.body.slice(0, 200)} -> ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 300)}`;
        expect(answer.status, context).toBeLessThan(500);
        if (answer.status !== 200) {
          expectClearRefusal(answer, context);
          // A conflict names exactly what was stored before it: whole channels of the batch, in order.
          const stored = (answer.body as { stored?: Array<{ id: string; channel: string }> }).stored ?? [];
          if (stored.length > 0) {
            const items = (parseSent(request.body) as { items: Array<{ channel: string; data: unknown }> }).items;
            for (const name of new Set(stored.map((m) => m.channel))) {
              const ids = stored.filter((m) => m.channel === name);
              const sent = items.filter((i) => i.channel === name);
              expect(ids.length, context).toBe(sent.length);
              ids.forEach((m, i) => ledger.record(name, m.id, sent[i]!.data));
            }
          }
          return;
        }
        const parsed = parseSent(request.body) as { items?: Array<{ channel: string; data: unknown }> } & { channel: string; data: unknown };
        const inputs = parsed.items ?? [parsed];
        const { messages } = answer.body as { messages: Array<{ id: string; channel: string; duplicate?: boolean }> };
        expect(messages).toHaveLength(inputs.length);
        messages.forEach((m, i) => ledger.record(m.channel, m.id, inputs[i]!.data));
        acceptedBodies.push(request.body);
        if (request.retryEarlier) {
          // The same request again with the ids it was given: recognised, nothing stored twice.
          const retryItems = inputs.map((input, i) => ({ ...input, id: messages[i]!.id }));
          const retry = await send({ ...request, body: JSON.stringify({ items: retryItems }), contentType: 'application/json', contentEncoding: undefined });
          expect(retry.status, JSON.stringify(retry.body)).toBe(200);
          for (const m of (retry.body as { messages: Array<{ duplicate?: boolean }> }).messages) expect(m.duplicate).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
    const stored = await ledger.expectHistory(CHANNELS);
    console.log(`publish bodies: ${[...statuses].map(([s, n]) => `${n}x ${s}`).join(', ')}; ${stored} messages stored, each once`);
    expect(acceptedBodies.length).toBeGreaterThan(0);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
  });

  it.each([
    { what: 'a body over the 8 MB request cap', status: 413, body: () => JSON.stringify({ channel: 'h-big', data: 'x'.repeat(9 * 1024 * 1024) }) },
    { what: '1001 items', status: 400, body: () => JSON.stringify({ items: Array.from({ length: 1001 }, () => ({ channel: 'h-big', data: 1 })) }) },
    { what: 'a message over the 64 KiB publish limit', status: 413, body: () => JSON.stringify({ channel: 'h-big', data: 'x'.repeat(70_000) }) },
  ])('refuses $what with a clear $status, storing nothing', async ({ body, status }) => {
    for (const base of [stack.urls.origin, edge]) {
      const answer = await answerOf(
        await fetch(`${base}/api/publish`, { method: 'POST', headers: { Authorization: `Bearer ${stack.publishToken}`, 'Content-Type': 'application/json' }, body: body() }),
      );
      expect(answer.status).toBe(status);
      expectClearRefusal(answer, base);
    }
    expect(await historyOf('h-big')).toEqual([]);
  });
});

// --- WebSocket publishes --------------------------------------------------------------------------

/** Frames a client may send: publishes (to these channels or hostile ones), pings, junk. */
const wsFrame = (channels: string[]) =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .record({ type: fc.constant('publish'), channel: fc.oneof(fc.constantFrom(...channels), channel), data, id: requestedId }, { requiredKeys: ['type', 'channel'] })
        .map((f) => JSON.stringify(f)),
    },
    { weight: 1, arbitrary: fc.constant('{"type":"ping"}') },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.integer({ min: 50, max: 20_000 }).map((depth) => `{"type":"publish","channel":"${channels[0]}","data":${'['.repeat(depth)}${']'.repeat(depth)}}`) },
  );

async function answerTo(ws: WsRecorder, frame: string): Promise<WsFrame> {
  const before = ws.frames.length;
  ws.send(frame);
  const frames = await ws.waitFor(before + 1, undefined, 10_000);
  return frames[before]!;
}

describe('WebSocket publishes with generated hostile frames', () => {
  // Side by side: each checks only its own channels (and the publish bodies above are checked already).
  it.concurrent.for(['pushpin', 'edge'] as const)('answers every frame with published or an error frame, through %s, and stores exactly what it published', async (via, { expect }) => {
    const ws = recordWs(via === 'edge' ? edge : stack.urls.pushpinProxy);
    await ws.opened;
    const channels = [`w-${via}-a`, `w-${via}-b`];
    const ledger = new Ledger(expect);
    const codes = new Map<string, number>();
    try {
      await fc.assert(
        fc.asyncProperty(wsFrame(channels), async (frame) => {
          const answer = await answerTo(ws, frame);
          const context = `${frame.slice(0, 200)} -> ${JSON.stringify(answer).slice(0, 300)}`;
          const kind = answer.type === 'error' ? String(answer.code) : answer.type;
          codes.set(kind, (codes.get(kind) ?? 0) + 1);
          expect(['published', 'error', 'pong'], context).toContain(answer.type);
          if (answer.type === 'error') {
            expect(answer, context).toMatchObject({ code: expect.any(String), message: expect.any(String) });
            expect(answer.code, context).not.toBe('internal');
          }
          if (answer.type === 'published') ledger.record(String(answer.channel), String(answer.id), (JSON.parse(frame) as { data: unknown }).data);
        }),
        { numRuns: 120 },
      );
      // Still the same connection, still answering.
      expect((await answerTo(ws, '{"type":"ping"}')).type).toBe('pong');
    } finally {
      ws.close();
    }
    const stored = await ledger.expectHistory(channels);
    console.log(`WebSocket frames through ${via}: ${[...codes].map(([c, n]) => `${n}x ${c}`).join(', ')}; ${stored} messages stored, each once`);
    expect(stored).toBeGreaterThan(0);
  });
});

// --- 10,000-character channel names on every route ------------------------------------------------

const LONG = 'c'.repeat(10_000);
/** Still within the edge's URL limit (8192 bytes), so the request reaches the origin through it. */
const LONG_BUT_ROUTABLE = 'c'.repeat(8000);

describe.each([
  ['10,000 characters', LONG],
  ['8,000 characters', LONG_BUT_ROUTABLE],
  ['129 characters', 'c'.repeat(129)],
])('a channel name of %s', (_size, name) => {
  const routes: Array<[string, string, RequestInit | undefined]> = [
    ['GET /events/:channel', `/events/${name}`, undefined],
    ['GET /stream/:channel', `/stream/${name}`, undefined],
    ['GET /poll/:channel', `/poll/${name}`, undefined],
    ['GET /api/channels/:channel/messages', `/api/channels/${name}/messages`, undefined],
    ['POST /api/publish', '/api/publish', { method: 'POST', body: JSON.stringify({ channel: name, data: 1 }) }],
    ['POST /api/channels/:channel/close', `/api/channels/${name}/close`, { method: 'POST' }],
  ];
  const realtime = (path: string) => /^\/(events|stream|poll)\//.test(path);

  it.each(routes)('%s straight to the origin: a clear 400', async (_route, path, init) => {
    const headers = { 'Grip-Sig': await gripSig(), Authorization: `Bearer ${stack.publishToken}`, 'Content-Type': 'application/json' };
    const answer = await answerOf(await fetch(`${stack.urls.origin}${path}`, { ...init, headers }));
    expect(answer.status).toBe(400);
    expectClearRefusal(answer, path.slice(0, 30));
    expect(JSON.stringify(answer.body)).toMatch(/channel must be 1-128 characters/);
  });

  // Past 8192 bytes of URL the local Compute host refuses (the guest runtime cannot read it); past
  // 4000 bytes of target the edge refuses a realtime request (the proxy would drop it); else the origin.
  it.each(routes)('%s through the edge: a clear 4xx (the origin\'s 400, or 414 past a URL limit)', async (_route, path, init) => {
    const headers = { Authorization: `Bearer ${stack.publishToken}`, 'Content-Type': 'application/json' };
    const answer = await answerOf(await fetch(`${edge}${path}`, { ...init, headers }));
    expectClearRefusal(answer, path.slice(0, 30));
    const tooLong = Buffer.byteLength(`${edge}${path}`) > 8192 || (realtime(path) && path.length > 4000);
    expect(answer.status).toBe(tooLong ? 414 : 400);
    expect(answer.body).toMatchObject(tooLong ? { error: 'uri_too_long' } : { message: expect.stringMatching(/channel must be 1-128 characters/) });
  });

  it('in a WebSocket subscribe or publish: an error frame, the connection stays, straight, through Pushpin and through the edge', async () => {
    // Straight to the origin: WebSocket-over-HTTP, as the proxy sends it.
    const frames = [JSON.stringify({ type: 'subscribe', channel: name }), JSON.stringify({ type: 'publish', channel: name, data: 1 })];
    const events = `OPEN\r\n${frames.map((f) => `TEXT ${Buffer.byteLength(f).toString(16)}\r\n${f}\r\n`).join('')}`;
    const response = await fetch(`${stack.urls.origin}/ws`, {
      method: 'POST',
      headers: { 'Grip-Sig': await gripSig(), 'Content-Type': 'application/websocket-events', 'Connection-Id': 'hostile-1' },
      body: events,
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.match(/m:\{"type":"error","code":"invalid_channel"/g)).toHaveLength(2);
    for (const base of [stack.urls.pushpinProxy, edge]) {
      const ws = recordWs(base);
      await ws.opened;
      try {
        for (const frame of frames) expect(await answerTo(ws, frame)).toMatchObject({ type: 'error', code: 'invalid_channel' });
        expect((await answerTo(ws, '{"type":"ping"}')).type).toBe('pong');
      } finally {
        ws.close();
      }
    }
  });
});

it('refuses a 10,000-digit resume position with a clear 400 on every transport', async () => {
  const digits = '9'.repeat(10_000);
  for (const path of [`/events/h-a?lastEventId=${digits}`, `/stream/h-a?since=${digits}`, `/poll/h-a?since=${digits}`, `/api/channels/h-a/messages?since=${digits}`]) {
    const answer = await answerOf(await fetch(`${stack.urls.origin}${path}`, { headers: { 'Grip-Sig': await gripSig() } }));
    expect(answer.status, path.slice(0, 20)).toBe(400);
    expectClearRefusal(answer, path.slice(0, 20));
  }
  const sse = await answerOf(await fetch(`${stack.urls.origin}/events/h-a`, { headers: { 'Grip-Sig': await gripSig(), 'Last-Event-ID': digits } }));
  expect(sse.status).toBe(400);
});

// --- oversized heads -------------------------------------------------------------------------------

describe('oversized request heads', () => {
  const bigHeader = (bytes: number) => `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(bytes)}\r\n\r\n`;
  const manyHeaders = `GET /healthz HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 20000 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`;

  // The origin takes heads up to 64 KiB (ORIGIN_MAX_HEADER_BYTES: WebSocket session state rides on them).
  it.concurrent.for<[string, string]>([
    ['a 100 KB header', bigHeader(100_000)],
    ['a 1 MB header', bigHeader(1_000_000)],
    ['20,000 headers', manyHeaders],
  ])('%s: refused with a 4xx and the connection closed, straight and through the edge; both keep serving', async ([_case, request], { expect }) => {
    for (const [where, base] of [['origin', stack.urls.origin], ['edge', edge]] as const) {
      const exchange = await rawRequest(base, request, 15_000);
      expect(exchange.timedOut, where).toBe(false);
      expect(exchange.status, where).toBe(431);
      expect(exchange.closed, where).toBe(true);
      expect((await fetch(`${base}/healthz`)).status, where).toBe(200);
    }
  });

  it.concurrent('a header under the limit (8 KB) is served as usual; straight to the origin up to its 64 KiB', async ({ expect }) => {
    for (const base of [stack.urls.origin, edge]) expect((await rawRequest(base, bigHeader(8000))).status).toBe(200);
    expect((await rawRequest(stack.urls.origin, bigHeader(40_000))).status).toBe(200);
  });
});

// --- slow bodies and heads (slowloris) -------------------------------------------------------------

const openDescriptors = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const publishHead = () =>
  `POST /api/publish HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${stack.publishToken}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"channel":"h-slow","data":"`;

describe('bodies and heads trickled a byte at a time', () => {
  // The stated bound: REQUEST_TIMEOUT_SECONDS (3 here), checked every second; generous on a busy machine.
  const BOUND_MS = 15_000;
  // The single trickles run side by side (a connection each, all waiting on timers); the 100 at once
  // count the origin's descriptors, so they run after them, alone.

  it.concurrent('a publish body: the origin answers 408 and closes within the request timeout, storing nothing', async ({ expect }) => {
    const exchange = await trickleBody(stack.urls.origin, publishHead(), 200, 60_000);
    console.log(`trickled publish body straight to the origin: ${exchange.status} after ${exchange.elapsedMs} ms, closed: ${exchange.closed}`);
    expect(exchange.status).toBe(408);
    expect(exchange.closed).toBe(true);
    expect(exchange.elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_SECONDS * 1000 - 200);
    expect(exchange.elapsedMs).toBeLessThan(BOUND_MS);
    expect(await historyOf('h-slow')).toEqual([]);
  });

  it.concurrent('a head: the origin answers 408 and closes within the request timeout', async ({ expect }) => {
    const exchange = await trickleHead(stack.urls.origin, 'GET /healthz HTTP/1.1', 200, 60_000);
    console.log(`trickled head straight to the origin: ${exchange.status} after ${exchange.elapsedMs} ms`);
    expect(exchange.status).toBe(408);
    expect(exchange.closed).toBe(true);
    expect(exchange.elapsedMs).toBeLessThan(BOUND_MS);
  });

  it.concurrent('a publish body through the edge: the origin\'s 408 reaches the client within the bound', async ({ expect }) => {
    // The edge answers and keeps the connection (closed: false): the exchange ends with the answer,
    // not at the wait's end. Without an answer it still waits out BOUND_MS + 1000 and fails on status.
    const exchange = await trickleBody(edge, publishHead(), 200, BOUND_MS + 1000, { untilAnswered: true });
    console.log(`trickled publish body through the edge: ${exchange.status} after ${exchange.firstByteMs} ms (connection closed: ${exchange.closed})`);
    expect(exchange.status).toBe(408);
    expect(exchange.firstByteMs).toBeLessThan(BOUND_MS);
    expect((await fetch(`${edge}/healthz`)).status).toBe(200);
  });

  it.concurrent('a head through the edge: the local Compute host answers 408 and closes within its head timeout', async ({ expect }) => {
    const exchange = await trickleHead(edge, 'GET /healthz HTTP/1.1', 200, 60_000);
    console.log(`trickled head through the edge: ${exchange.status} after ${exchange.elapsedMs} ms`);
    expect(exchange.status).toBe(408);
    expect(exchange.closed).toBe(true);
    expect(exchange.elapsedMs).toBeLessThan(BOUND_MS);
  });

  it('100 at once: all answered 408 and closed, publishing works meanwhile, and the origin lets go of every connection', async () => {
    const pid = stack.pids.origin;
    const before = openDescriptors(pid);
    const started = Date.now();
    const slow = Array.from({ length: 100 }, () => trickleBody(stack.urls.origin, publishHead(), 250, 60_000));
    await new Promise((r) => setTimeout(r, 1000));
    const during = openDescriptors(pid);
    const publish = await stack.publish({ channel: 'h-during', data: 'still publishing' });
    expect(publish.status).toBe(200);
    const results = await Promise.all(slow);
    const elapsed = Date.now() - started;
    console.log(`100 trickled bodies: statuses ${[...new Set(results.map((r) => r.status))].join(',')}, all closed after ${elapsed} ms; origin descriptors ${before} -> ${during} -> ${openDescriptors(pid)}`);
    for (const result of results) {
      expect(result.status).toBe(408);
      expect(result.closed).toBe(true);
    }
    expect(elapsed).toBeLessThan(BOUND_MS * 2);
    expect(during).toBeGreaterThanOrEqual(before + 90);
    let after = openDescriptors(pid);
    for (const deadline = Date.now() + 5000; after > before + 5 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 100));
      after = openDescriptors(pid);
    }
    expect(after).toBeLessThanOrEqual(before + 5);
    expect((await historyOf('h-during')).map((m) => m.data)).toEqual(['still publishing']);
  });
});
