// A publish the origin gave up on can still be delivered by the proxy later: its request reached the
// proxy, which did not answer within the origin's attempt timeout (5 s; retried until the 10 s
// deadline, then 502 publish_failed). A stand-in in front of Pushpin's publish port holds the
// requests past the deadline, then hands them to Pushpin. A WebSocket that subscribes (without
// `since`) after the origin gave up must not receive that late message from before its position: the
// origin keeps such a request's messages in flight until the in-flight TTL, so the subscribe answers
// `subscribe_busy` meanwhile instead of going live under it (it did before: `subscribed` at the late
// message's id, then the message itself). A WebSocket subscribed before the publish gets it late, as
// it should (the proof that the late delivery happened).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freeStackPorts } from '../../scripts/shared/ports.ts';
import { LOCAL_GRIP_SIG_ISS } from '../../scripts/pushpin/pushpinConfig.ts';
import { startHoldingPublishProxy, type HoldingPublishProxy } from '../harness/holdingPublishProxy.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { isProbe, recordWs, untilLive, type WsFrame } from '../harness/wsClient.ts';

const CHANNEL = 'late-publish';
let stack: TestStack;
let standIn: HoldingPublishProxy;

beforeAll(async () => {
  const ports = await freeStackPorts();
  standIn = await startHoldingPublishProxy(`http://127.0.0.1:${ports.pushpinPublish}`);
  stack = await startTestStack({ ports, originEnv: { GRIP_URL: `${standIn.url}/?verify-iss=${LOCAL_GRIP_SIG_ISS}` } });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await standIn?.close();
});

const messages = (frames: WsFrame[]) => frames.filter((f) => f.type === 'message' && !isProbe(f));

it('a WebSocket that subscribes after the origin gave up on a publish does not get that publish late, from before its position', async () => {
  const before = recordWs(stack.urls.pushpinProxy);
  const newcomer = recordWs(stack.urls.pushpinProxy);
  try {
    await Promise.all([before.opened, newcomer.opened]);
    before.send({ type: 'subscribe', channel: CHANNEL });
    await before.waitFor(1, (f) => f.type === 'subscribed', 10_000);
    await untilLive(before, CHANNEL, stack.publish);

    // The proxy takes the request and says nothing until long after the origin gave up.
    standIn.hold();
    const answer = await stack.publish({ channel: CHANNEL, data: { late: true } });
    const failure = (await answer.json()) as { error?: string; stored?: Array<{ id: string; channel: string }> };
    expect(answer.status).toBe(502);
    expect(failure).toMatchObject({ error: 'publish_failed', stored: [{ channel: CHANNEL }] });
    const lateId = failure.stored![0]!.id;
    expect(standIn.held(), 'every attempt reached the proxy').toBeGreaterThanOrEqual(2);

    newcomer.send({ type: 'subscribe', channel: CHANNEL });
    const [reply] = await newcomer.waitFor(1, (f) => f.type === 'subscribed' || f.type === 'error', 20_000);

    // Now Pushpin gets the held requests and delivers them (to every subscription live by then).
    expect(await standIn.release()).toEqual(expect.arrayContaining([200]));
    await before.waitFor(1, (f) => f.type === 'message' && f.id === lateId, 10_000);
    // A message published after them reaches every live subscription after them.
    const next = await stack.publish({ channel: CHANNEL, data: { after: true } });
    expect(next.status).toBe(200);
    const [{ id: nextId }] = ((await next.json()) as { messages: Array<{ id: string }> }).messages as [{ id: string }];
    await before.waitFor(1, (f) => f.type === 'message' && f.id === nextId, 10_000);
    await new Promise((r) => setTimeout(r, 500));

    const position = reply!.type === 'subscribed' ? BigInt(reply!.lastId as string) : undefined;
    const early = messages(newcomer.frames).filter((f) => position === undefined || BigInt(f.id as string) <= position);
    expect(
      early.map((f) => f.id),
      `the newcomer's answer was ${JSON.stringify(reply)}; it got messages from before its position`,
    ).toEqual([]);
    // While the late publish may still come, the subscribe is refused for now (the client tries again).
    expect(reply).toMatchObject({ type: 'error', code: 'subscribe_busy', channel: CHANNEL });
  } finally {
    before.close();
    newcomer.close();
  }
}, 90_000);
