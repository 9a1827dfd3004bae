import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../observability/logger.ts';
import { requireGripSignature } from '../grip/requireGripSignature.ts';
import { RequestParamError, resumeIdOf } from './realtimeRequest.ts';

function unverified(headers: Record<string, string>, query: Record<string, string> = {}): Request {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name: string) => lower[name.toLowerCase()], query } as unknown as Request;
}

/** A request as the proxy's: through the signature guard, with a verifier that accepts it. */
async function request(headers: Record<string, string>, query: Record<string, string> = {}): Promise<Request> {
  const req = unverified(headers, query);
  const guard = requireGripSignature(async () => ({ valid: true, issuer: undefined }), {} as Logger);
  await new Promise<void>((resolve) => void guard(req, {} as never, () => resolve()));
  return req;
}

const SSE = { headers: ['last-event-id'], query: ['lastEventId'] };

describe('resumeIdOf', () => {
  it('reads the client position from the header, then the query', async () => {
    expect(resumeIdOf(await request({ 'Last-Event-ID': '5' }, { lastEventId: '3' }), 'history:sse:c', SSE)).toBe('5');
    expect(resumeIdOf(await request({}, { lastEventId: '3' }), 'history:sse:c', SSE)).toBe('3');
    expect(resumeIdOf(await request({}), 'history:sse:c', SSE)).toBeUndefined();
    const bad = await request({}, { lastEventId: 'x' });
    expect(() => resumeIdOf(bad, 'history:sse:c', SSE)).toThrow(RequestParamError);
  });

  it("takes Grip-Last for its own channel, or the link's position when that is later (paging)", async () => {
    const gripLast = 'other:c; last-id=99, history:sse:c; last-id=20';
    // Recovering a gap: Pushpin delivered up to 20 since the link (at 10) was written.
    expect(resumeIdOf(await request({ 'Grip-Last': gripLast }, { lastEventId: '10' }), 'history:sse:c', SSE)).toBe('20');
    // Paging a long replay: the link (at 30) is past the last hold's Grip-Last, which Pushpin repeats.
    expect(resumeIdOf(await request({ 'Grip-Last': gripLast }, { lastEventId: '30' }), 'history:sse:c', SSE)).toBe('30');
    expect(resumeIdOf(await request({ 'Grip-Last': gripLast }), 'history:sse:c', SSE)).toBe('20');
    expect(resumeIdOf(await request({ 'Grip-Last': 'history:sse:c; last-id=junk' }, { lastEventId: '7' }), 'history:sse:c', SSE)).toBe('7');
  });

  it('ignores Grip-Last on a request whose Grip-Sig did not verify (a client can send any header)', () => {
    const gripLast = 'history:sse:c; last-id=999999999999999999';
    expect(resumeIdOf(unverified({ 'Grip-Last': gripLast }, { lastEventId: '7' }), 'history:sse:c', SSE)).toBe('7');
    expect(resumeIdOf(unverified({ 'Grip-Last': gripLast }), 'history:sse:c', SSE)).toBeUndefined();
  });
});
