// The publish CLI as a real child process against real Pushpins: one message reaches SSE, NDJSON
// stream, long-poll and WebSocket subscribers in the framing the origin uses (through a small GRIP test
// origin that holds only the live channels, and through the real origin, whose holds also track its
// sequence); --close (to the proxy and through the origin's close endpoint), bulk input, several
// targets at once, and --target origin with its history. (test/publishing/delivery.e2e.test.ts covers every
// publish path against every transport through the edge.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPushpin, type RunningPushpin } from '../../scripts/pushpin/pushpinProcess.ts';
import { findFreePort, findFreePortRange } from '../../scripts/shared/ports.ts';
import { startGripTestOrigin, type GripTestOrigin } from '../harness/gripTestOrigin.ts';
import { runPublishCli, type CliRun } from '../harness/publishCli.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { longPoll, recordLines, recordWebSocket } from '../harness/transportSubscribers.ts';
import { TEST_PUSHPIN_PROFILE } from '../harness/testPushpinProfile.ts';

interface Envelope {
  id?: string;
  channel: string;
  data: unknown;
  ts: number;
}

let stack: TestStack;
let gripOrigin: GripTestOrigin;
let pushpin: RunningPushpin;
/** The second Pushpin: routes `origin` to the real origin and `gripcheck` to the GRIP test origin. */
let proxy: string;
let publishUrl: string;
const viaOrigin = { 'pushpin-route': 'origin' };
const viaGripcheck = { 'pushpin-route': 'gripcheck' };

beforeAll(async () => {
  stack = await startTestStack();
  gripOrigin = await startGripTestOrigin();
  const origin = new URL(stack.urls.origin);
  pushpin = await startPushpin({
    backends: [{ name: 'origin', url: origin, overrideHost: origin.host }, gripOrigin.backend('gripcheck')],
    proxyPort: await findFreePort(),
    publishPort: await findFreePortRange(4),
    profile: TEST_PUSHPIN_PROFILE,
    logDir: mkdtempSync(join(tmpdir(), 'publish-cli-pushpin-')),
    echo: false,
    log: () => {},
  });
  proxy = pushpin.proxyUrl;
  publishUrl = pushpin.publishUrl;
});

afterAll(async () => {
  await pushpin?.stop();
  await gripOrigin?.close();
  await stack?.stop();
});

function jsonOf(run: CliRun): { ok: boolean; ids: string[]; sent: number; failed: number; gripItems: number; errors: Array<{ line?: number }> } {
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as ReturnType<typeof jsonOf>;
}

const wsUrl = (path: string): string => `${proxy.replace('http', 'ws')}${path}`;

describe('a message published with the CLI', () => {
  it('reaches SSE, NDJSON stream, long-poll and WebSocket subscribers in their framings', async () => {
    const channel = 'allfour';
    const sse = recordSse(`${proxy}/events/${channel}`, viaGripcheck);
    const stream = recordLines(`${proxy}/stream/${channel}`, viaGripcheck);
    const ws = recordWebSocket(wsUrl(`/ws/${channel}`), viaGripcheck);
    const poll = longPoll(`${proxy}/poll/${channel}`, viaGripcheck);
    let pollBody: { status: number; text: string } | undefined;
    poll.body.then((b) => (pollBody = b), () => {});
    try {
      await Promise.all([sse.opened, stream.opened, ws.opened]);
      // A held long-poll gives no sign of being subscribed: publish again (a new round) until every
      // subscriber has a message, then check each message against the round it carries.
      for (let round = 0; round < 5; round++) {
        const run = await runPublishCli([channel, JSON.stringify({ round }), '--grip-url', publishUrl, '--json']);
        expect(run.code).toBe(0);
        // Live only: no id, not stored.
        expect(jsonOf(run)).toMatchObject({ ids: [], stored: false });
        const deadline = Date.now() + 1500;
        while (Date.now() < deadline && !(pollBody && sse.events.length && stream.received.length && ws.received.length)) {
          await new Promise((r) => setTimeout(r, 50));
        }
        if (pollBody && sse.events.length && stream.received.length && ws.received.length) break;
      }
      const check = (envelope: Envelope): void => {
        const round = (envelope.data as { round: number }).round;
        expect(envelope).toEqual({ channel, data: { round }, ts: expect.any(Number) });
      };
      const [event] = await sse.waitFor(1);
      // No id: EventSource keeps its Last-Event-ID (none here).
      expect(event!.id).toBe('');
      check(event!.data as Envelope);
      check(JSON.parse((await stream.waitFor(1))[0]!) as Envelope);
      const frame = JSON.parse((await ws.waitFor(1))[0]!) as Envelope & { type: string };
      expect(frame.type).toBe('message');
      const { type: _type, ...wsEnvelope } = frame;
      check(wsEnvelope);
      expect(pollBody, 'the long-poll was never answered').toBeDefined();
      const answered = pollBody!;
      expect(answered.status).toBe(200);
      const { messages } = JSON.parse(answered.text) as { messages: Envelope[] };
      expect(messages).toHaveLength(1);
      check(messages[0]!);
      // The first round every push transport saw is the same message, with the same id and ts.
      expect(JSON.parse(stream.received[0]!)).toEqual(sse.events[0]!.data);
    } finally {
      sse.close();
      stream.close();
      ws.close();
      poll.close();
    }
  });

  it('--close ends the NDJSON stream, the SSE stream and the WebSocket', async () => {
    const channel = 'closing';
    const stream = recordLines(`${proxy}/stream/${channel}`, viaGripcheck);
    const sse = recordLines(`${proxy}/events/${channel}`, viaGripcheck);
    const ws = recordWebSocket(wsUrl(`/ws/${channel}`), viaGripcheck);
    let ended = 0;
    for (const recorder of [stream, sse, ws]) recorder.ended.then(() => ended++, () => {});
    try {
      await Promise.all([stream.opened, sse.opened, ws.opened]);
      for (let attempt = 0; attempt < 5 && ended < 3; attempt++) {
        const run = await runPublishCli([channel, '--close', '--grip-url', publishUrl]);
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/sent a close for sse, stream and ws on closing/);
        const deadline = Date.now() + 1500;
        while (Date.now() < deadline && ended < 3) await new Promise((r) => setTimeout(r, 50));
      }
      await Promise.all([stream.ended, sse.ended, ws.ended]);
    } finally {
      stream.close();
      sse.close();
      ws.close();
    }
  });

  /** Runs the CLI close until the origin's sequenced holds on `channel` ended (a new hold subscribes a moment late). */
  async function closeUntilEnded(args: string[], env: Record<string, string>, holds: Array<{ ended: Promise<void> }>, summary: RegExp): Promise<void> {
    let ended = 0;
    for (const hold of holds) hold.ended.then(() => ended++, () => {});
    for (let attempt = 0; attempt < 5 && ended < holds.length; attempt++) {
      const run = await runPublishCli(args, { env });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(summary);
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && ended < holds.length) await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(holds.map((hold) => hold.ended));
  }

  it("--close --target origin ends the origin's SSE and NDJSON streams", async () => {
    const channel = 'close-via-origin';
    expect((await stack.publish({ channel, data: 'before' })).status).toBe(200);
    const sse = recordLines(`${stack.urls.pushpinProxy}/events/${channel}`, viaOrigin);
    const stream = recordLines(`${stack.urls.pushpinProxy}/stream/${channel}`, viaOrigin);
    try {
      await Promise.all([sse.opened, stream.opened]);
      await closeUntilEnded(
        [channel, '--close', '--target', 'origin'],
        { ORIGIN_URL: stack.urls.origin, PUBLISH_TOKEN: stack.publishToken },
        [sse, stream],
        new RegExp(`^sent a close for sse, stream and ws on ${channel} → ${stack.urls.origin}/api/channels/${channel}/close`),
      );
    } finally {
      sse.close();
      stream.close();
    }
  });

  it('--close --target origin reports a wrong PUBLISH_TOKEN with exit code 4', async () => {
    const run = await runPublishCli(['somewhere', '--close', '--target', 'origin'], {
      env: { ORIGIN_URL: stack.urls.origin, PUBLISH_TOKEN: 'not-the-token' },
    });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/\/api\/channels\/somewhere\/close answered 401/);
    expect(run.stderr).toMatch(/PUBLISH_TOKEN must equal/);
    expect(run.stderr).not.toMatch(/not-the-token/);
  });

  it("--close straight to the proxy ends the origin's streams and WebSockets whatever their position", async () => {
    // --grip-url stands in for --target local (the same GRIP sink; local is the fixed port 5561).
    const channel = 'close-direct';
    expect((await stack.publish({ items: [1, 2, 3].map((data) => ({ channel, data })) })).status).toBe(200);
    const px = stack.urls.pushpinProxy;
    const sse = recordLines(`${px}/events/${channel}`, viaOrigin);
    // Resumed from the start: this stream's position differs from the one above.
    const stream = recordLines(`${px}/stream/${channel}?since=0`, viaOrigin);
    const ws = recordWebSocket(`${px.replace('http', 'ws')}/ws`, viaOrigin, JSON.stringify({ type: 'subscribe', channel }));
    try {
      await Promise.all([sse.opened, stream.opened, ws.opened]);
      await ws.waitFor(1);
      await closeUntilEnded([channel, '--close', '--grip-url', stack.urls.pushpinPublish], {}, [sse, stream, ws], /^sent a close for sse, stream and ws on close-direct →/);
    } finally {
      sse.close();
      stream.close();
      ws.close();
    }
  });

  it("a direct publish reaches the origin's sequenced subscribers, and the origin's next message still follows", async () => {
    const channel = 'mixed';
    const sequenced = recordSse(`${stack.urls.pushpinProxy}/events/${channel}`, viaOrigin);
    try {
      await sequenced.opened;
      const run = await runPublishCli([channel, 'direct', '--grip-url', stack.urls.pushpinPublish]);
      expect(run.code).toBe(0);
      const [direct] = await sequenced.waitFor(1);
      expect(direct!.data).toEqual({ channel, data: 'direct', ts: expect.any(Number) });
      const response = await stack.publish({ channel, data: 'via origin' });
      const { messages } = (await response.json()) as { messages: Array<{ id: string }> };
      const [, stored] = await sequenced.waitFor(2);
      // The channel's first stored message: it follows "0" (the direct one has no id and is in no history).
      expect(stored).toEqual({ id: messages[0]!.id, data: { prev: '0', id: messages[0]!.id, channel, data: 'via origin', ts: expect.any(Number) } });
      await new Promise((r) => setTimeout(r, 300));
      expect(sequenced.events).toHaveLength(2);
    } finally {
      sequenced.close();
    }
  });
});

describe('bulk publishing', () => {
  it('sends every line from standard input to the channel, in order, in batches', async () => {
    const channel = 'bulk';
    const stream = recordLines(`${proxy}/stream/${channel}`, viaGripcheck);
    try {
      await stream.opened;
      const lines = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? JSON.stringify({ n: i }) : `text ${i}`));
      const run = await runPublishCli([channel, '-', '--grip-url', publishUrl, '--batch', '40', '--json'], {
        stdin: `${lines.join('\n')}\n`,
      });
      expect(run.code).toBe(0);
      const result = jsonOf(run) as ReturnType<typeof jsonOf> & { requests: number };
      expect(result).toMatchObject({ ok: true, sent: 300, failed: 0, gripItems: 1200 });
      expect(result.requests).toBe(Math.ceil(300 / 40));
      const received = (await stream.waitFor(300)).map((line) => (JSON.parse(line) as Envelope).data);
      expect(received).toEqual(lines.map((line, i) => (i % 2 === 0 ? { n: i } : line)));
    } finally {
      stream.close();
    }
  });

  it('reads NDJSON items from a file, skips and reports invalid lines, exits 5', async () => {
    const streamA = recordLines(`${proxy}/stream/bulk-a`, viaGripcheck);
    const streamB = recordLines(`${proxy}/stream/bulk-b`, viaGripcheck);
    const file = join(mkdtempSync(join(tmpdir(), 'publish-cli-')), 'items.ndjson');
    writeFileSync(
      file,
      [
        '{"channel":"bulk-a","data":{"x":1}}',
        '',
        '{"channel":"bulk-b","data":"two"}',
        '{"channel":"bulk-b","data":"has an id","id":"77"}',
        'not json',
        '{"channel":"bad:name","data":1}',
        `{"channel":"bulk-a","data":"${'x'.repeat(70_000)}"}`,
        '{"channel":"bulk-a","data":3}',
      ].join('\r\n'),
    );
    try {
      await Promise.all([streamA.opened, streamB.opened]);
      const run = await runPublishCli(['--file', file, '--grip-url', publishUrl, '--json']);
      expect(run.code).toBe(5);
      const result = jsonOf(run) as ReturnType<typeof jsonOf> & { errors: Array<{ line?: number; message: string }> };
      expect(result).toMatchObject({ ok: false, sent: 3, failed: 4 });
      expect(result.errors.map((e) => e.line)).toEqual([4, 5, 6, 7]);
      expect(result.errors[0]!.message).toMatch(/has no id .*--target origin/);
      expect((await streamA.waitFor(2)).map((l) => (JSON.parse(l) as Envelope).data)).toEqual([{ x: 1 }, 3]);
      const [b] = await streamB.waitFor(1);
      expect(JSON.parse(b!)).toEqual({ channel: 'bulk-b', data: 'two', ts: expect.any(Number) });
    } finally {
      streamA.close();
      streamB.close();
    }
  });
});

describe('targets', () => {
  it('publishes to several GRIP URLs at once', async () => {
    const channel = 'twoproxies';
    const first = recordSse(`${stack.urls.pushpinProxy}/events/${channel}`, viaOrigin);
    const second = recordSse(`${proxy}/events/${channel}`, viaOrigin);
    try {
      await Promise.all([first.opened, second.opened]);
      const run = await runPublishCli([channel, 'both', '--json'], {
        env: { GRIP_URL: `${stack.urls.pushpinPublish}, ${publishUrl}` },
      });
      expect(run.code).toBe(0);
      expect(jsonOf(run).sent).toBe(1);
      for (const recorder of [first, second]) {
        const [event] = await recorder.waitFor(1);
        expect(event!.data).toMatchObject({ channel, data: 'both' });
      }
    } finally {
      first.close();
      second.close();
    }
  });

  it('--target origin stores the message in history and publishes it', async () => {
    const channel = 'viaorigin';
    let id = '';
    const live = recordSse(`${stack.urls.pushpinProxy}/events/${channel}`, viaOrigin);
    const env = { ORIGIN_URL: stack.urls.origin, PUBLISH_TOKEN: stack.publishToken };
    try {
      await live.opened;
      const run = await runPublishCli([channel, '{"text":"kept"}', '--target', 'origin', '--json'], { env });
      expect(run.code).toBe(0);
      const result = jsonOf(run) as ReturnType<typeof jsonOf> & { stored: boolean };
      expect(result.stored).toBe(true);
      id = result.ids[0]!;
      expect(id).toMatch(/^\d{16}$/);
      const [event] = await live.waitFor(1);
      expect(event).toMatchObject({ id, data: { id, channel, data: { text: 'kept' } } });
    } finally {
      live.close();
    }
    // A client resuming from "0" (the start) gets it replayed from the origin's history.
    const resumed = recordSse(`${stack.urls.pushpinProxy}/events/${channel}`, { ...viaOrigin, 'Last-Event-ID': '0' });
    try {
      expect((await resumed.waitFor(1))[0]).toMatchObject({ id, data: { data: { text: 'kept' } } });
    } finally {
      resumed.close();
    }
  });

  it('--target origin with a wrong PUBLISH_TOKEN exits 4 with a hint and never prints the token', async () => {
    const token = 'wrong-token-that-must-not-leak';
    const env = { ORIGIN_URL: stack.urls.origin, PUBLISH_TOKEN: token };
    const [text, json] = await Promise.all([
      runPublishCli(['news', 'x', '--target', 'origin'], { env }),
      runPublishCli(['news', 'x', '--target', 'origin', '--json'], { env }),
    ]);
    for (const run of [text, json]) {
      expect(run.code).toBe(4);
      expect(run.stdout + run.stderr).not.toContain(token);
    }
    expect(text.stderr).toMatch(/401/);
    expect(text.stderr).toMatch(/hint: PUBLISH_TOKEN must equal/);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: 4, errors: [{ kind: 'rejected', status: 401 }] });
  });
});
