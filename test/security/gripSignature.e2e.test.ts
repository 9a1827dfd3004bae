// Every realtime endpoint refuses every kind of bad Grip-Sig with a 4xx: no hold, no GRIP channel, no
// WebSocket session. The same requests with Pushpin's real signature are accepted, so the refusals are
// about the signature and nothing else.
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_GRIP_SIG_ISS, LOCAL_GRIP_SIG_KEY } from '../../scripts/pushpin/pushpinConfig.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ originEnv: { LONG_POLL_TIMEOUT_SECONDS: '5' } });
});
afterAll(async () => {
  await stack?.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const devKey = new TextEncoder().encode(LOCAL_GRIP_SIG_KEY);
const hs256 = (claims: Record<string, unknown>, key = devKey) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);

const signatures: Array<[string, string, () => Promise<string | undefined>]> = [
  ['forged (other key)', 'bad-signature', () => hs256({ iss: LOCAL_GRIP_SIG_ISS, exp: now() + 60 }, new TextEncoder().encode('nope'))],
  ['expired', 'expired', () => hs256({ iss: LOCAL_GRIP_SIG_ISS, exp: now() - 60 })],
  ['wrong issuer', 'wrong-issuer', () => hs256({ iss: 'someone-else', exp: now() + 60 })],
  ['alg none', 'bad-algorithm', async () => new UnsecuredJWT({ iss: LOCAL_GRIP_SIG_ISS, exp: now() + 60 }).encode()],
  ['garbage', 'malformed', async () => 'garbage'],
  ['missing', 'missing', async () => undefined],
];

const subscribeFrame = '{"type":"subscribe","channel":"secure"}';
const wsEvents = `OPEN\r\nTEXT ${Buffer.byteLength(subscribeFrame).toString(16)}\r\n${subscribeFrame}\r\n`;
const wsOpen = { 'Content-Type': 'application/websocket-events', 'Connection-Id': 'test-connection' };
const endpoints: Array<[string, string, Record<string, string>, string | undefined]> = [
  ['GET', '/events/secure', {}, undefined],
  ['GET', '/stream/secure', {}, undefined],
  ['GET', '/poll/secure', {}, undefined],
  ['POST', '/ws', wsOpen, wsEvents],
];

function request(method: string, path: string, headers: Record<string, string>, body: string | undefined, sig?: string) {
  return fetch(`${stack.urls.origin}${path}`, {
    method,
    headers: { ...headers, ...(sig !== undefined ? { 'Grip-Sig': sig } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
}

describe.each(endpoints)('%s %s', (method, path, headers, body) => {
  it.each(signatures)('refuses a %s signature with 403 and no GRIP', async (_kind, _reason, makeSig) => {
    const response = await request(method, path, headers, body, await makeSig());
    expect(response.status).toBe(403);
    for (const header of ['grip-hold', 'grip-channel', 'grip-link', 'sec-websocket-extensions']) {
      expect(response.headers.get(header), header).toBeNull();
    }
    expect(response.headers.get('content-type')).not.toMatch(/websocket-events/);
    expect(await response.json()).toMatchObject({ error: 'grip_signature_required' });
  });

  it("accepts Pushpin's own signature", async () => {
    const response = await request(method, path, headers, body, await hs256({ iss: LOCAL_GRIP_SIG_ISS, exp: now() + 60 }));
    expect(response.status).toBe(200);
    if (method === 'GET') expect(response.headers.get('grip-hold')).toMatch(/stream|response/);
    else expect(await response.text()).toMatch(/^OPEN\r\n/);
  });
});

describe('signature failures are counted', () => {
  it('by reason, in /metrics', async () => {
    const text = await (
      await fetch(`${stack.urls.origin}/metrics`, { headers: { Authorization: `Bearer ${stack.publishToken}` } })
    ).text();
    for (const [, reason] of signatures) {
      expect(text).toMatch(new RegExp(`^origin_grip_signature_failures_total\\{reason="${reason}"\\} ${endpoints.length}$`, 'm'));
    }
  });
});
