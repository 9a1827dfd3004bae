// Private channels end to end, through the edge (bin/main.wasm on the local Compute host), Pushpin and
// the origin: every transport refuses what it must, lets a valid token in, ends the subscription when
// the token expires, and a client that comes back with a fresh token and its last id loses nothing.
// Tokens never reach a log, a URL the client sees, or the metrics.
// Every case but the last runs beside the others (each on channels of its own; the two that replace an
// origin, and the one that needs client publishing, on stacks of their own, started with the shared one
// before any timed case); the last reads the shared stack's logs for every token the others issued.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import { signSubscribeToken } from '../../origin/access/subscribeToken.ts';
import { EXPIRY_REPEAT_SECONDS } from '../../origin/access/expiryRepeat.ts';
import { startLateAnswerProxy, type LateAnswerProxy } from '../harness/lateAnswerProxy.ts';
import { replaceStackOrigin } from '../harness/replaceStackOrigin.ts';
import { recordWs, untilLive, untilOriginSettled, type WsFrame } from '../harness/wsClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

const SECRET = 'e2e-subscribe-token-secret-0123456789abcdef';
let stack: TestStack;
let edge: string;
/** Env of the stacks whose origin a case replaces: the shortest WebSocket keep-alive Pushpin allows (20 s), the shortest sweep (10 s). */
const BACKSTOP_ENV = { SUBSCRIBE_TOKEN_SECRET: SECRET, WS_TOKEN_KEEP_ALIVE_SECONDS: '20' };
const SWEEP_SECONDS = 10;
const SWEEP_ENV = { SUBSCRIBE_TOKEN_SECRET: SECRET, STREAM_EXPIRY_SWEEP_SECONDS: String(SWEEP_SECONDS) };
let backstopStack: TestStack;
let sweepStack: TestStack;
let clientPublishStack: TestStack;
/** Between Pushpin and the shared stack's origin (route `late-origin`): hands Pushpin chosen answers late. */
let lateProxy: LateAnswerProxy;
/** Every token handed to the edge: none may show up in a log. */
const issued: string[] = [];

async function token(channels: string[], ttlSeconds = 120, options: { secret?: string; publish?: boolean; now?: number } = {}): Promise<string> {
  const t = await signSubscribeToken({ channels, ttlSeconds, publish: options.publish ?? false }, options.secret ?? SECRET, options.now);
  issued.push(t);
  return t;
}

function algNoneToken(channels: string[]): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const t = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ channels, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
  issued.push(t);
  return t;
}

/** A HS512 token with the right secret: the algorithm is pinned, so it is refused too. */
function hs512Token(channels: string[]): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64({ channels, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  const t = `${input}.${createHmac('sha512', SECRET).update(input).digest('base64url')}`;
  issued.push(t);
  return t;
}

interface OpenStream {
  status: number;
  headers: Headers;
  text(): string;
  /** Resolves with the time the body ended. */
  ended: Promise<number>;
  abort(): void;
}

async function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  let body = '';
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) body += decoder.decode(chunk, { stream: true });
    } catch {
      // aborted
    }
    return Date.now();
  })();
  return { status: response.status, headers: response.headers, text: () => body, ended, abort: () => controller.abort() };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function publish(expect: ExpectStatic, channel: string, data: unknown): Promise<string> {
  const response = await stack.publish({ channel, data });
  const body = (await response.json()) as { messages: Array<{ id: string }> };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.messages[0]!.id;
}

const sseIds = (text: string) => [...text.matchAll(/^id: (\d+)\ndata: /gm)].map((m) => m[1]!);
const ndjsonIds = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { id?: string; type?: string })
    .filter((m) => m.type === undefined && m.id !== undefined)
    .map((m) => m.id!);

beforeAll(async () => {
  lateProxy = await startLateAnswerProxy();
  // Side by side; each kept as it comes, so afterAll stops those that started when another failed.
  const started = await Promise.allSettled([
    startTestStack({ edge: true, backends: { 'late-origin': lateProxy.url }, originEnv: { SUBSCRIBE_TOKEN_SECRET: SECRET, LOG_LEVEL: 'debug' } }).then((s) => {
      stack = s;
      lateProxy.target = s.urls.origin;
    }),
    startTestStack({ originEnv: BACKSTOP_ENV }).then((s) => (backstopStack = s)),
    startTestStack({ originEnv: SWEEP_ENV }).then((s) => (sweepStack = s)),
    startTestStack({ edge: true, originEnv: { SUBSCRIBE_TOKEN_SECRET: SECRET, ALLOW_CLIENT_PUBLISH: 'true' } }).then((s) => (clientPublishStack = s)),
  ]);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  edge = stack.urls.edge!;
}, 120_000);

afterAll(async () => {
  await Promise.all([stack, backstopStack, sweepStack, clientPublishStack].map((s) => s?.stop()));
  await lateProxy?.close();
});

const HTTP_ROUTES = [
  ['SSE', (c: string) => `/events/${c}`],
  ['NDJSON stream', (c: string) => `/stream/${c}`],
  ['long-poll', (c: string) => `/poll/${c}`],
  ['history API', (c: string) => `/api/channels/${c}/messages`],
] as const;

describe.concurrent('refusals, every transport through the edge', () => {
  /** What the request carries beyond the path: a query suffix and headers. */
  type Given = { suffix?: string; headers?: Record<string, string> };
  const refusals: Array<[string, () => Promise<Given>, string]> = [
    ['no token', async () => ({}), 'missing'],
    ['a forged token (another secret)', async () => ({ suffix: `?token=${await token(['private-r'], 120, { secret: `${SECRET}-not-it` })}` }), 'forged'],
    ['an expired token', async () => ({ suffix: `?token=${await token(['private-r'], 60, { now: Math.floor(Date.now() / 1000) - 120 })}` }), 'expired'],
    ['a token for another channel', async () => ({ suffix: `?token=${await token(['private-other', 'private-r-*'])}` }), 'channel'],
    ['alg: none', async () => ({ suffix: `?token=${algNoneToken(['private-r'])}` }), 'algorithm'],
    ['HS512 with the right secret', async () => ({ suffix: `?token=${hs512Token(['private-r'])}` }), 'algorithm'],
    ['a token in a cookie (the wrong place)', async () => ({ headers: { Cookie: `token=${await token(['private-r'])}` } }), 'missing'],
    // Not listed in `issued`: a token in a URL parameter the edge does not know ends up in Pushpin's log.
    ['a token in ?access_token= (the wrong place)', async () => ({ suffix: `?access_token=${await signSubscribeToken({ channels: ['private-r'], ttlSeconds: 60 }, SECRET)}` }), 'missing'],
    ['a token in X-Subscribe-Token (the wrong place)', async () => ({ headers: { 'X-Subscribe-Token': await token(['private-r']) } }), 'missing'],
  ];

  for (const [transport, path] of HTTP_ROUTES) {
    it.for(refusals)(`${transport}: %s -> 403, no hold, no history`, async ([_name, make, reason], { expect }) => {
      const given = await make();
      const started = Date.now();
      const response = await fetch(`${edge}${path('private-r')}${given.suffix ?? ''}`, { headers: given.headers ?? {} });
      const text = await response.text();
      expect(response.status, text).toBe(403);
      // Answered at once: nothing was held.
      expect(Date.now() - started).toBeLessThan(3000);
      expect(JSON.parse(text)).toMatchObject({ error: 'forbidden', reason, channel: 'private-r' });
      expect(text).not.toContain('"messages"');
      for (const [name] of response.headers) expect(name).not.toMatch(/^grip-/);
    });
  }

  it.for(HTTP_ROUTES)('%s: two different tokens -> 400', async ([_transport, path], { expect }) => {
    const response = await fetch(`${edge}${path('private-r')}?token=${await token(['private-r'])}`, {
      headers: { Authorization: `Bearer ${await token(['private-r'], 30)}` },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'bad_request' });
  });

  it.for<[string, () => Promise<Record<string, unknown>>]>([
    ['no token', async () => ({})],
    ['a forged token', async () => ({ token: await token(['private-r'], 120, { secret: `${SECRET}-not-it` }) })],
    ['an expired token', async () => ({ token: await token(['private-r'], 60, { now: Math.floor(Date.now() / 1000) - 120 }) })],
    ['a token for another channel', async () => ({ token: await token(['private-other']) })],
    ['alg: none', async () => ({ token: algNoneToken(['private-r']) })],
  ])('WebSocket: %s -> a forbidden error frame and no subscription', async ([_name, extra], { expect }) => {
    const ws = recordWs(edge);
    await ws.opened;
    ws.send({ type: 'subscribe', channel: 'private-r', ...(await extra()) });
    const [error] = await ws.waitFor(1, (f) => f.type === 'error');
    expect(error).toMatchObject({ type: 'error', code: 'forbidden', channel: 'private-r' });
    await publish(expect, 'private-r', { secret: 'not for you' });
    await new Promise((r) => setTimeout(r, 700));
    expect(ws.frames.filter((f) => f.type === 'message' || f.type === 'subscribed')).toEqual([]);
    ws.close();
  });

  it('WebSocket: a token in the connection URL (the wrong place) does not subscribe', async ({ expect }) => {
    const ws = recordWs(edge, `/ws?token=${await token(['private-r'])}`);
    await ws.opened;
    ws.send({ type: 'subscribe', channel: 'private-r' });
    const [error] = await ws.waitFor(1, (f) => f.type === 'error');
    expect(error).toMatchObject({ code: 'forbidden' });
    ws.close();
  });
});

describe.concurrent('a valid token', () => {
  it('opens every transport on its channel, and public channels need none', async ({ expect }) => {
    const t = await token(['private-ok']);
    const sse = await openStream(`${edge}/events/private-ok?token=${t}`);
    const ndjson = await openStream(`${edge}/stream/private-ok`, { Authorization: `Bearer ${t}` });
    const pub = await openStream(`${edge}/events/public-ok`);
    expect([sse.status, ndjson.status, pub.status]).toEqual([200, 200, 200]);
    for (const [name] of sse.headers) expect(name).not.toMatch(/^grip-/);
    const poll = fetch(`${edge}/poll/private-ok?token=${t}`);
    const ws = recordWs(edge);
    await ws.opened;
    ws.send({ type: 'subscribe', channel: 'private-ok', token: t });
    await ws.waitFor(1, (f) => f.type === 'subscribed');
    await new Promise((r) => setTimeout(r, 1000));
    const id = await publish(expect, 'private-ok', { n: 1 });
    await publish(expect, 'public-ok', { n: 1 });
    await until(() => sseIds(sse.text()).includes(id) && ndjsonIds(ndjson.text()).includes(id), 10_000, 'the private message on SSE and NDJSON');
    await until(() => pub.text().includes('"n":1'), 10_000, 'the public message');
    const polled = (await (await poll).json()) as { messages: Array<{ id: string }> };
    expect(polled.messages.map((m) => m.id)).toEqual([id]);
    await ws.waitFor(1, (f) => f.type === 'message' && f.id === id);
    const history = await fetch(`${edge}/api/channels/private-ok/messages?token=${t}`);
    expect(history.status).toBe(200);
    expect(history.headers.get('cache-control')).toBe('private, no-store');
    expect(((await history.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id)).toEqual([id]);
    for (const s of [sse, ndjson, pub]) s.abort();
    ws.close();
  });

  it('`npm run token` prints a token the origin takes', async ({ expect }) => {
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'token', '--', 'private-cli', '--ttl', '60', '--sub', 'tester'], {
      env: { ...process.env, SUBSCRIBE_TOKEN_SECRET: SECRET },
    });
    const printed = stdout.trim();
    expect(printed).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    issued.push(printed);
    const response = await fetch(`${edge}/api/channels/private-cli/messages?token=${printed}`);
    expect(response.status).toBe(200);
    const wrongSecret = await promisify(execFile)('npm', ['run', '-s', 'token', '--', 'private-cli'], { env: { ...process.env, SUBSCRIBE_TOKEN_SECRET: `${SECRET}-other` } });
    expect((await fetch(`${edge}/api/channels/private-cli/messages?token=${wrongSecret.stdout.trim()}`)).status).toBe(403);
  });

  it('publishing over WebSocket to a private channel takes "publish": true', async ({ expect }) => {
    const ws = recordWs(clientPublishStack.urls.edge!);
    await ws.opened;
    ws.send({ type: 'publish', channel: 'private-pub', data: 1, token: await token(['private-pub']) });
    ws.send({ type: 'publish', channel: 'private-pub', data: 2, token: await token(['private-pub'], 60, { publish: true }) });
    const answers = await ws.waitFor(2, (f) => f.type === 'error' || f.type === 'published');
    expect(answers.map((f) => f.type === 'error' ? f.code : f.type)).toEqual(['forbidden', 'published']);
    const history = await fetch(`${clientPublishStack.urls.origin}/api/channels/private-pub/messages?token=${await token(['private-pub'])}`);
    expect(((await history.json()) as { messages: Array<{ data: unknown }> }).messages.map((m) => m.data)).toEqual([2]);
    ws.close();
  });
});

describe.concurrent('a token whose exp is fractional (JWT allows it: jose setExpirationTime(Date.now() / 1000 + 3600))', () => {
  const fractional = async (channel: string) => {
    const t = await new SignJWT({ channels: [channel] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Date.now() / 1000 + 3600)
      .sign(new TextEncoder().encode(SECRET));
    issued.push(t);
    return t;
  };

  it('SSE: a replay longer than one page goes on through next links, which carry the grant, and is not refused', async ({ expect }) => {
    const channel = 'private-fractional-sse';
    // More than one replay page (100 messages): Pushpin follows the first page's link at once.
    const response = await stack.publish({ items: Array.from({ length: 130 }, (_, i) => ({ channel, data: i })) });
    expect(response.status).toBe(200);
    const ids = ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
    const stream = await openStream(`${edge}/events/${channel}?token=${await fractional(channel)}&lastEventId=0`);
    expect(stream.status).toBe(200);
    await until(() => sseIds(stream.text()).length >= ids.length, 15_000, 'the replay');
    const live = await publish(expect, channel, 'live');
    await until(() => sseIds(stream.text()).includes(live), 10_000, 'the live message after the replay');
    expect(sseIds(stream.text())).toEqual([...ids, live]);
    expect(stream.text()).not.toContain('token-expired');
    stream.abort();
  }, 30_000);
});

describe.concurrent('expiry and recovery across a token refresh', () => {
  // First of the group (at most 5 cases of a group run at once): the longest, on a keep-alive of 20 s.
  it('WebSocket: when the origin that would close it at exp is gone, the keep-alive call closes it', async ({ expect }) => {
    const own = backstopStack;
    const channel = 'private-backstop';
    const ws = recordWs(own.urls.pushpinProxy);
    await ws.opened;
    const ttl = 6;
    const exp = Math.floor(Date.now() / 1000) + ttl;
    ws.send({ type: 'subscribe', channel, token: await token([channel], exp - Math.floor(Date.now() / 1000)) });
    await ws.waitFor(1, (f) => f.type === 'subscribed');
    await untilLive(ws, channel, own.publish);
    await untilOriginSettled(ws);
    // The origin that scheduled the close goes away; another takes its port.
    const replacement = await replaceStackOrigin(own, 'origin-replacement', BACKSTOP_ENV);
    try {
      const closed = await Promise.race([ws.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 40_000))]);
      const lateBy = Date.now() - exp * 1000;
      console.log(`WebSocket closed by the keep-alive backstop ${lateBy} ms after exp (interval 20 s)`);
      expect(closed?.code).toBe(4001);
      expect(lateBy).toBeLessThan(25_000);
    } finally {
      await replacement.stop();
    }
  }, 90_000);

  it('SSE and NDJSON: when the origin that would close them at exp is gone, the expiry sweep of another closes them', async ({ expect }) => {
    const own = sweepStack;
    const channel = 'private-sweep';
    const exp = Math.floor(Date.now() / 1000) + 6;
    const t = await token([channel], exp - Math.floor(Date.now() / 1000));
    const headers = { 'pushpin-route': 'origin' };
    const sse = await openStream(`${own.urls.pushpinProxy}/events/${channel}?token=${t}`, headers);
    const ndjson = await openStream(`${own.urls.pushpinProxy}/stream/${channel}?token=${t}`, headers);
    expect([sse.status, ndjson.status]).toEqual([200, 200]);
    await new Promise((r) => setTimeout(r, 700));
    const response = await own.publish({ channel, data: 'before' });
    const [first] = ((await response.json()) as { messages: Array<{ id: string }> }).messages;
    await until(() => sseIds(sse.text()).includes(first!.id) && ndjsonIds(ndjson.text()).includes(first!.id), 10_000, 'a live message');
    // The origin that let them in (and holds the timers for exp) goes away; another takes its port.
    const replacement = await replaceStackOrigin(own, 'origin-replacement', SWEEP_ENV);
    try {
      const timeout = new Promise<number>((r) => setTimeout(() => r(-1), 40_000));
      const ended = await Promise.all([Promise.race([sse.ended, timeout]), Promise.race([ndjson.ended, timeout])]);
      console.log(`streams closed by the sweep ${ended.map((at) => at - exp * 1000).join(' and ')} ms after exp (period ${SWEEP_SECONDS} s)`);
      for (const at of ended) {
        expect(at, 'a stream did not end').toBeGreaterThan(0);
        expect(at - exp * 1000).toBeGreaterThan(-1000);
        // The sweep of the period after exp + EXPIRY_REPEAT_SECONDS.
        expect(at - exp * 1000).toBeLessThan((SWEEP_SECONDS + EXPIRY_REPEAT_SECONDS + 5) * 1000);
      }
      // The sweep closes without the notice (it does not know the channels); the exact close was never sent.
      expect(sse.text()).not.toContain('token-expired');
      expect(ndjson.text()).not.toContain('token_expired');
    } finally {
      await replacement.stop();
    }
  }, 90_000);

  it('SSE and NDJSON: a hold answered before exp that reaches the proxy after it still gets the notice once and ends, EXPIRY_REPEAT_SECONDS after exp', async ({ expect }) => {
    const channel = 'private-late-hold';
    const exp = Math.floor(Date.now() / 1000) + 2;
    const t = await token([channel], exp - Math.floor(Date.now() / 1000));
    // The origin answers at once (and schedules the close at exp); Pushpin gets the answers 1.5 s after
    // exp, when the origin's publish at exp has gone out to a channel nobody held yet.
    const releaseAt = exp * 1000 + 1500;
    for (const route of ['/events', '/stream']) lateProxy.holdAnswers(`${route}/${channel}`, releaseAt);
    const headers = { 'pushpin-route': 'late-origin', Authorization: `Bearer ${t}` };
    const [sse, ndjson] = await Promise.all(['/events', '/stream'].map((route) => openStream(`${stack.urls.pushpinProxy}${route}/${channel}`, headers)));
    expect([sse!.status, ndjson!.status]).toEqual([200, 200]);
    for (const route of ['/events', '/stream']) {
      const answered = lateProxy.answeredAt(`${route}/${channel}`);
      expect(answered).toHaveLength(1);
      expect(answered[0]!).toBeLessThan(exp * 1000);
    }
    const timeout = new Promise<number>((r) => setTimeout(() => r(-1), exp * 1000 + (EXPIRY_REPEAT_SECONDS + 5) * 1000 - Date.now()));
    const ended = await Promise.all([Promise.race([sse!.ended, timeout]), Promise.race([ndjson!.ended, timeout])]);
    console.log(`held late (answers passed on ${releaseAt - exp * 1000} ms after exp): streams ended ${ended.map((at) => at - exp * 1000).join(' and ')} ms after exp`);
    for (const at of ended) {
      expect(at, 'a stream did not end').toBeGreaterThan(0);
      expect(at).toBeGreaterThanOrEqual(releaseAt);
      expect(at - exp * 1000).toBeLessThan((EXPIRY_REPEAT_SECONDS + 3) * 1000);
    }
    expect(sse!.text().split('event: token-expired').length - 1).toBe(1);
    expect(ndjson!.text().split('"type":"token_expired"').length - 1).toBe(1);
  }, 30_000);

  it.for<[string, '/events' | '/stream', string, (text: string) => string[], string]>([
    ['SSE', '/events', 'lastEventId', sseIds, 'event: token-expired'],
    ['NDJSON stream', '/stream', 'since', ndjsonIds, '"type":"token_expired"'],
  ])('%s: the stream ends within a few seconds of exp; a fresh token and the last id recover everything', { timeout: 60_000 }, async ([_name, route, param, idsOf, notice], { expect }) => {
    const channel = `private-exp-${route.slice(1)}`;
    const ttl = 4;
    const exp = Math.floor(Date.now() / 1000) + ttl;
    const first = await openStream(`${edge}${route}/${channel}?token=${await token([channel], exp - Math.floor(Date.now() / 1000))}`);
    expect(first.status).toBe(200);
    await new Promise((r) => setTimeout(r, 700));
    const before = [await publish(expect, channel, 1), await publish(expect, channel, 2)];
    await until(() => before.every((id) => idsOf(first.text()).includes(id)), 10_000, 'the messages before expiry');
    const endedAt = await Promise.race([first.ended, new Promise<number>((r) => setTimeout(() => r(-1), 15_000))]);
    expect(endedAt, 'the stream did not end').toBeGreaterThan(0);
    const lateBy = endedAt - exp * 1000;
    console.log(`${route}: stream ended ${lateBy} ms after exp`);
    expect(lateBy).toBeGreaterThan(-1000);
    expect(lateBy).toBeLessThan(5000);
    expect(first.text()).toContain(notice);
    // Published while the client had no stream.
    const during = [await publish(expect, channel, 3), await publish(expect, channel, 4)];
    const lastSeen = idsOf(first.text()).at(-1)!;
    const second = await openStream(`${edge}${route}/${channel}?token=${await token([channel], 120)}&${param}=${lastSeen}`);
    const after = await (async () => {
      await new Promise((r) => setTimeout(r, 700));
      return [await publish(expect, channel, 5)];
    })();
    await until(() => [...during, ...after].every((id) => idsOf(second.text()).includes(id)), 10_000, 'recovery after the refresh');
    const all = [...idsOf(first.text()), ...idsOf(second.text())];
    expect(all).toEqual([...before, ...during, ...after]);
    second.abort();
  });

  it('WebSocket: closed with 4001 within a few seconds of exp; a fresh token and since recover everything', async ({ expect }) => {
    const channel = 'private-exp-ws';
    const exp = Math.floor(Date.now() / 1000) + 4;
    const ws = recordWs(edge);
    await ws.opened;
    ws.send({ type: 'subscribe', channel, token: await token([channel], exp - Math.floor(Date.now() / 1000)) });
    await ws.waitFor(1, (f) => f.type === 'subscribed');
    await new Promise((r) => setTimeout(r, 700));
    const before = [await publish(expect, channel, 1)];
    await ws.waitFor(1, (f) => f.type === 'message' && f.id === before[0]);
    const closed = await Promise.race([ws.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
    const closedAt = Date.now();
    expect(closed, 'the WebSocket was not closed').toBeDefined();
    expect(closed!.code).toBe(4001);
    console.log(`WebSocket closed ${closedAt - exp * 1000} ms after exp`);
    expect(closedAt - exp * 1000).toBeLessThan(5000);
    expect(ws.frames).toContainEqual(expect.objectContaining({ type: 'error', code: 'token_expired' }));
    const during = [await publish(expect, channel, 2), await publish(expect, channel, 3)];
    const again = recordWs(edge);
    await again.opened;
    again.send({ type: 'subscribe', channel, token: await token([channel]), since: before[0] });
    const recovered = await again.waitFor(2, (f: WsFrame) => f.type === 'message');
    expect(recovered.map((f) => f.id)).toEqual(during);
    again.close();
  }, 60_000);

  it('WebSocket: a fresh token before exp keeps the connection and its messages', async ({ expect }) => {
    const channel = 'private-refresh-ws';
    const ws = recordWs(edge);
    await ws.opened;
    ws.send({ type: 'subscribe', channel, token: await token([channel], 3) });
    await ws.waitFor(1, (f) => f.type === 'subscribed');
    ws.send({ type: 'subscribe', channel, token: await token([channel], 120) });
    const [refreshed] = await ws.waitFor(1, (f) => f.type === 'refreshed');
    expect(refreshed).toMatchObject({ channel });
    await new Promise((r) => setTimeout(r, 5000));
    const id = await publish(expect, channel, 'still here');
    await ws.waitFor(1, (f) => f.type === 'message' && f.id === id);
    expect(ws.socket.readyState).toBe(ws.socket.OPEN);
    ws.close();
  }, 30_000);

  it('long-poll: a hold ends by exp (Pushpin holds at least 5 s); a poll after that with the expired token is refused', async ({ expect }) => {
    const channel = 'private-exp-poll';
    const t = await token([channel], 6);
    const started = Date.now();
    const held = await fetch(`${edge}/poll/${channel}?token=${t}`);
    const elapsed = Date.now() - started;
    expect(held.status).toBe(200);
    console.log(`long-poll hold answered after ${elapsed} ms (token lifetime 6 s, origin timeout 55 s)`);
    expect(elapsed).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, Math.max(0, 6500 - (Date.now() - started))));
    expect((await fetch(`${edge}/poll/${channel}?token=${t}`)).status).toBe(403);
  }, 30_000);
});

describe('tokens stay secret', () => {
  it('reach no log (the origin at debug, the Compute host, Pushpin) and no metric', async ({ expect }) => {
    // Proof that the check can fail: a token sent straight to Pushpin in the URL is in Pushpin's log.
    const direct = await signSubscribeToken({ channels: ['private-direct'], ttlSeconds: 60 }, SECRET);
    await fetch(`${stack.urls.pushpinProxy}/poll/private-direct?token=${direct}`, { headers: { 'pushpin-route': 'origin' }, signal: AbortSignal.timeout(1500) }).catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
    const logs = {
      origin: readFileSync(stack.logFiles.origin, 'utf8'),
      pushpin: readFileSync(stack.logFiles.pushpin, 'utf8'),
      edge: readFileSync(stack.logFiles.edge!, 'utf8'),
    };
    expect(logs.pushpin).toContain(direct);
    const metrics = await (await fetch(`${stack.urls.origin}/metrics`, { headers: { Authorization: `Bearer ${stack.publishToken}` } })).text();
    expect(metrics).toContain('origin_subscribe_refusals_total');
    expect(issued.length).toBeGreaterThan(20);
    for (const t of issued) {
      const signature = t.split('.')[2] || t.split('.')[1]!;
      for (const [name, text] of Object.entries({ ...logs, metrics })) expect(text.includes(signature), `a token in the ${name} log`).toBe(false);
    }
  });
});
