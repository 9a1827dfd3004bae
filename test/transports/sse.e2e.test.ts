// SSE through the real Pushpin to the real origin, and the origin's refusal of forged signatures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('SSE through Pushpin', () => {
  it('delivers a message published through /api/publish, with its id', async () => {
    const client = recordSse(`${stack.urls.pushpinProxy}/events/news`, { 'pushpin-route': 'origin' });
    try {
      await client.opened;
      const response = await stack.publish({ channel: 'news', data: { headline: 'hello' } });
      expect(response.status).toBe(200);
      const { messages } = (await response.json()) as { messages: Array<{ id: string }> };
      const [event] = await client.waitFor(1);
      expect(event!.id).toBe(messages[0]!.id);
      expect(event!.data).toMatchObject({ id: messages[0]!.id, channel: 'news', data: { headline: 'hello' } });
    } finally {
      client.close();
    }
  });

  it('replays retained messages after Last-Event-ID, then goes live', async () => {
    const publish = async (data: number): Promise<string> => {
      const response = await stack.publish({ channel: 'replay', data });
      expect(response.status).toBe(200);
      return ((await response.json()) as { messages: Array<{ id: string }> }).messages[0]!.id;
    };
    const ids = [await publish(1), await publish(2), await publish(3)];
    const client = recordSse(`${stack.urls.pushpinProxy}/events/replay`, { 'pushpin-route': 'origin', 'Last-Event-ID': ids[0]! });
    try {
      await client.waitFor(2);
      ids.push(await publish(4));
      const events = await client.waitFor(3);
      expect(events.map((e) => e.data)).toMatchObject([{ data: 2 }, { data: 3 }, { data: 4 }]);
      expect(events.map((e) => e.id)).toEqual(ids.slice(1));
    } finally {
      client.close();
    }
  });
});

describe('the origin trusts only signed proxy requests', () => {
  const forged = async (): Promise<string> =>
    new SignJWT({ iss: 'viceroy', exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('not-the-dev-key'));

  it.each([
    ['a forged signature', forged],
    ['a garbage signature', async () => 'garbage'],
    ['no signature', async () => undefined],
  ])('answers %s with 4xx and no Grip-Hold', async (_name, token) => {
    const sig = await token();
    const response = await fetch(`${stack.urls.origin}/events/news`, { headers: sig ? { 'Grip-Sig': sig } : {} });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.headers.get('grip-hold')).toBeNull();
    expect(response.headers.get('grip-channel')).toBeNull();
    await response.body?.cancel();
  });
});

describe('POST /api/publish', () => {
  it('refuses a missing or wrong token', async () => {
    for (const auth of [undefined, 'Bearer nope-nope-nope']) {
      const response = await fetch(`${stack.urls.origin}/api/publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) },
        body: JSON.stringify({ channel: 'news', data: 1 }),
      });
      expect(response.status).toBe(401);
    }
  });

  it.each([
    [{ channel: 'bad:name', data: 1 }, 400, /channel/],
    [{ channel: 'news' }, 400, /data is required/],
    [{ items: [] }, 400, /non-empty/],
    [{ channel: 'news', data: 'x'.repeat(70_000) }, 413, /publish limit/],
    [{ channel: 'news', data: 1, id: 'abc' }, 400, /decimal/],
  ])('refuses %j with %i', async (body, status, message) => {
    const response = await stack.publish(body);
    expect(response.status).toBe(status);
    expect(((await response.json()) as { message: string }).message).toMatch(message);
  });

  it('answers invalid JSON with 400', async () => {
    const response = await fetch(`${stack.urls.origin}/api/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.publishToken}`, 'Content-Type': 'application/json' },
      body: '{"channel":',
    });
    expect(response.status).toBe(400);
  });
});
