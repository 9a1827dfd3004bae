// Concurrent publishes through the origin share proxy requests, and each caller is still answered
// exactly. The origin publishes to two GRIP targets: the real Pushpin (subscribers receive through it)
// and a recording stand-in that the test holds or fails, so "while the proxy is busy" is made by the
// test, never by timing; while it holds a request, only that request's channels wait. Also: three items a message (SSE and long-poll share one), and a long-poll
// on a message too large for both formats in one item gets it with its next poll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_GRIP_SIG_KEY } from '../../scripts/pushpin/pushpinConfig.ts';
import { freeStackPorts } from '../../scripts/shared/ports.ts';
import { startFastlyApiStandIn, type FastlyApiStandIn } from '../harness/fastlyApiStandIn.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

const ROUTE = { 'pushpin-route': 'origin' };
let stack: TestStack;
let standIn: FastlyApiStandIn;

beforeAll(async () => {
  standIn = await startFastlyApiStandIn();
  const ports = await freeStackPorts();
  stack = await startTestStack({
    ports,
    originEnv: {
      GRIP_URL: `http://127.0.0.1:${ports.pushpinPublish}/?verify-iss=viceroy,${standIn.url}/?verify-iss=viceroy`,
      GRIP_VERIFY_KEY: LOCAL_GRIP_SIG_KEY,
      LONG_POLL_TIMEOUT_SECONDS: '20',
      // Several proxy requests in flight (the default is one): other channels go beside a held one.
      PUBLISH_REQUESTS_IN_FLIGHT: '4',
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await standIn?.close();
});

/** Waits for a condition that the test itself brings about (generous bound: a slow machine only takes longer). */
async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (const giveUp = Date.now() + 30_000; !(await condition()); ) {
    if (Date.now() > giveUp) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function history(channel: string): Promise<Array<{ id: string; data: unknown }>> {
  const body = (await (await fetch(`${stack.urls.origin}/api/channels/${channel}/messages?since=0&limit=1000`)).json()) as {
    messages: Array<{ id: string; data: unknown }>;
  };
  return body.messages;
}

type Answer = { status: number; body: { messages?: Array<{ id: string; channel: string }>; error?: string; stored?: Array<{ id: string }>; index?: number } };

async function publish(body: unknown): Promise<Answer> {
  const response = await stack.publish(body);
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** A released-by-the-test promise. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

describe('a lone publish', () => {
  it('goes to the proxy at once, in one request of three items (SSE and long-poll share one)', async () => {
    const before = standIn.requests.length;
    const answer = await publish({ channel: 'alone', data: { text: 'hi' } });
    expect(answer.status).toBe(200);
    expect(standIn.requests.length).toBe(before + 1);
    const { items } = JSON.parse(standIn.requests.at(-1)!.body) as { items: Array<{ channel: string; formats: Record<string, unknown> }> };
    expect(items.map((i) => [i.channel, Object.keys(i.formats).sort()])).toEqual([
      ['history:sse:alone', ['http-response', 'http-stream']],
      ['history:stream:alone', ['http-stream']],
      ['ws:alone', ['ws-message']],
    ]);
  });
});

describe('publishes arriving while the proxy is busy', () => {
  it('share the next request; each caller gets its own answer; a conflict fails only its caller; subscribers get every message once, in order', async () => {
    const sse = recordSse(`${stack.urls.pushpinProxy}/events/room`, ROUTE);
    await sse.opened;
    try {
      const slow = gate();
      standIn.script([{ status: 200, after: slow.opened }]);
      const before = standIn.requests.length;
      const first = publish({ channel: 'room', data: 0 });
      await until('the first publish reached the proxy', () => standIn.requests.length === before + 1);
      // The proxy holds that request: room's later messages are stored meanwhile and wait for its answer
      // (a channel is in one request in flight at most); other channels' messages go out beside it.
      const room = Array.from({ length: 30 }, (_, n) => publish({ channel: 'room', data: n + 1 }));
      const others = Array.from({ length: 9 }, (_, n) => publish({ channel: `elsewhere-${n}`, data: n }));
      // A requested id below the channel's last one: refused, whatever else shares its round.
      const clash = await publish({ channel: 'room', data: 'clash', id: '5' });
      expect(clash.status).toBe(409);
      expect(clash.body).toMatchObject({ error: 'id_conflict', stored: [], index: 0 });
      await until('all 31 messages of room are stored', async () => (await history('room')).length === 31);
      const elsewhere = await Promise.all(others);
      expect(elsewhere.map((a) => a.status)).toEqual(elsewhere.map(() => 200));
      const channelsOf = (from: number) =>
        standIn.requests.slice(from).flatMap((r) => (JSON.parse(r.body) as { items: Array<{ channel: string }> }).items.map((i) => i.channel));
      const whileHeld = channelsOf(before + 1);
      expect(whileHeld.length).toBeGreaterThan(0);
      expect(whileHeld.filter((c) => c.endsWith(':room'))).toEqual([]);
      const afterHeld = standIn.requests.length;
      slow.open();

      const answers = await Promise.all([first, ...room]);
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      // The 30 that waited went in one flush (bodies under 64 KiB), not 30 requests.
      expect(standIn.requests.length - afterHeld).toBeLessThanOrEqual(3);
      expect(channelsOf(afterHeld).filter((c) => c === 'ws:room')).toHaveLength(30);
      // Each caller was told the id its own message got.
      const stored = await history('room');
      const idOf = new Map(stored.map((m) => [JSON.stringify(m.data), m.id]));
      for (const [n, answer] of [first, ...room].entries()) {
        expect((await answer).body.messages![0]!.id).toBe(idOf.get(JSON.stringify(n)));
      }
      expect(stored.map((m) => m.id)).toEqual([...stored.map((m) => m.id)].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)));
      // Through the real Pushpin: every message once, in id order.
      await sse.waitFor(31);
      await new Promise((r) => setTimeout(r, 300));
      expect(sse.events.map((e) => e.id)).toEqual(stored.map((m) => m.id));
    } finally {
      sse.close();
    }
  });

  it('a request the proxy refuses fails exactly the callers whose messages it carried', async () => {
    const slow = gate();
    standIn.script([{ status: 200, after: slow.opened }, { status: 400, body: 'refused' }]);
    const before = standIn.requests.length;
    const held = publish({ channel: 'flush-a', data: 'held' });
    await until('the first publish reached the proxy', () => standIn.requests.length === before + 1);
    // On the held request's channel, so they wait for its answer and then go out together (with
    // several requests in flight, other channels would go beside it).
    const refused = [publish({ channel: 'flush-a', data: 1 }), publish({ channel: 'flush-a', data: 2 })];
    await until('both are stored', async () => (await history('flush-a')).length === 3);
    slow.open();
    expect((await held).status).toBe(200);
    const [b, c] = await Promise.all(refused);
    const stored = await history('flush-a');
    expect(standIn.requests.length).toBe(before + 2);
    for (const [answer, data] of [[b!, 1], [c!, 2]] as const) {
      expect(answer.status).toBe(502);
      expect(answer.body.error).toBe('publish_failed');
      // Its own message, stored, and nothing of the other caller's.
      expect(answer.body.stored).toEqual([{ id: stored.find((m) => m.data === data)!.id, channel: 'flush-a' }]);
    }
  });
});

describe('a message too large for the SSE event and the long-poll answer in one item', () => {
  it('answers a waiting long-poll with where to poll from, and the next poll gets the message', async () => {
    const [seed] = (await publish({ channel: 'big-poll', data: 'small' })).body.messages!;
    const waiting = fetch(`${stack.urls.pushpinProxy}/poll/big-poll?since=${seed!.id}`, { headers: ROUTE });
    // Held, or answered at once if the publish below lands first: both end with the message.
    await new Promise((r) => setTimeout(r, 300));
    const large = 'x'.repeat(40_000);
    const [published] = (await publish({ channel: 'big-poll', data: large })).body.messages!;
    let answer = (await (await waiting).json()) as { messages: Array<{ id: string; data: unknown }>; lastId: string };
    if (answer.messages.length === 0) {
      expect(answer.lastId).toBe(seed!.id);
      const next = await fetch(`${stack.urls.pushpinProxy}/poll/big-poll?since=${answer.lastId}`, { headers: ROUTE });
      answer = (await next.json()) as typeof answer;
    }
    expect(answer.messages).toEqual([expect.objectContaining({ id: published!.id, data: large })]);
    expect(answer.lastId).toBe(published!.id);
  });
});
