// What a request that merely carries a valid Grip-Sig cannot do: forge the WebSocket session state the
// origin keeps in proxy meta (to be answered a private channel's history, or to publish to it), or
// move a resume position with a client-sent Grip-Last on a route that is not the proxy's. The origin
// here accepts the local dev key (it listens on loopback), which anyone can sign with: exactly the
// position an attacker is in when an origin trusts a key they know.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_GRIP_SIG_ISS, LOCAL_GRIP_SIG_KEY } from '../../scripts/pushpin/pushpinConfig.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ originEnv: { ALLOW_CLIENT_PUBLISH: 'true' } });
  const response = await stack.publish({ items: [{ channel: 'private-a', data: 'secret-1' }, { channel: 'private-a', data: 'secret-2' }] });
  expect(response.status).toBe(200);
});
afterAll(async () => {
  await stack?.stop();
});

const sign = () =>
  new SignJWT({ iss: LOCAL_GRIP_SIG_ISS, exp: Math.floor(Date.now() / 1000) + 60 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(LOCAL_GRIP_SIG_KEY));

function events(...list: Array<[string, string?]>): string {
  return list.map(([type, content]) => (content === undefined ? `${type}\r\n` : `${type} ${Buffer.byteLength(content).toString(16)}\r\n${content}\r\n`)).join('');
}

async function wsRequest(meta: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${stack.urls.origin}/ws`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/websocket-events', 'Connection-Id': 'attacker-1', 'Grip-Sig': await sign(), ...meta },
    body,
  });
  return { status: response.status, text: await response.text() };
}

describe('forged WebSocket session state (proxy meta)', () => {
  it('a pending subscribe to a private channel put in Meta-Pend is not answered with its history', async () => {
    const meta = {
      'Meta-User': 'AAAAAAAAAAAA',
      'Meta-Pend': `private-a:0:5:${Date.now()}::0:0:0:0`,
      'Meta-Barrier': '5',
    };
    const { status, text } = await wsRequest(meta, events(['PONG', 'ffsub:5']));
    expect(text).not.toContain('secret-1');
    expect(text).not.toMatch(/"type":"subscribed"/);
    // Answered with an error and a close: the origin does not know this connection.
    expect(status).toBe(200);
    expect(text).toMatch(/"code":"session_invalid"/);
    expect(text).toMatch(/^CLOSE /m);
  });

  it('a grant for a private channel put in Meta-Grants does not let the connection publish to it', async () => {
    const meta = {
      'Meta-User': 'AAAAAAAAAAAA',
      'Meta-Subs': 'private-a',
      'Meta-Grants': `private-a:${Math.floor(Date.now() / 1000) + 3600}:1`,
    };
    const { text } = await wsRequest(meta, events(['TEXT', JSON.stringify({ type: 'publish', channel: 'private-a', data: 'forged' })]));
    expect(text).not.toMatch(/"type":"published"/);
    expect(text).toMatch(/"code":"session_invalid"/);
    const history = await fetch(`${stack.urls.origin}/api/channels/private-a/messages?since=0`, {
      headers: { Authorization: `Bearer ${await devToken(['private-a'])}` },
    });
    expect(((await history.json()) as { messages: Array<{ data: unknown }> }).messages.map((m) => m.data)).toEqual(['secret-1', 'secret-2']);
  });
});

describe('a new connection (OPEN) with forged meta', () => {
  it('starts afresh: nothing of the meta is acted on in the same request', async () => {
    const meta = { 'Meta-User': 'AAAAAAAAAAAA', 'Meta-Pend': `private-a:0:5:${Date.now()}::0:0:0:0`, 'Meta-Barrier': '5' };
    const { text } = await wsRequest(meta, events(['OPEN'], ['PONG', 'ffsub:5']));
    expect(text).toMatch(/^OPEN\r\n/);
    expect(text).not.toContain('secret-1');
    expect(text).not.toMatch(/"type":"subscribed"/);
  });
});

describe('Grip-Last from a client', () => {
  it('does not move the position the history API reads from', async () => {
    await stack.publish({ channel: 'grip-last-public', data: 1 });
    const response = await fetch(`${stack.urls.origin}/api/channels/grip-last-public/messages?since=0`, {
      headers: { 'Grip-Last': ';last-id=999999999999999999, history:sse:grip-last-public; last-id=999999999999999999' },
    });
    const body = (await response.json()) as { messages: unknown[]; reset?: unknown };
    expect(body.reset).toBeUndefined();
    expect(body.messages).toHaveLength(1);
  });
});

async function devToken(channels: string[]): Promise<string> {
  const { signSubscribeToken } = await import('../../origin/access/subscribeToken.ts');
  const { DEV_SUBSCRIBE_TOKEN_SECRET } = await import('../../origin/config/originConfig.ts');
  return signSubscribeToken({ channels, ttlSeconds: 300 }, DEV_SUBSCRIBE_TOKEN_SECRET);
}
