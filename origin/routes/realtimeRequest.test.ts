import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { RequestParamError, resumeIdOf } from './realtimeRequest.ts';

function request(headers: Record<string, string>, query: Record<string, string> = {}): Request {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name: string) => lower[name.toLowerCase()], query } as unknown as Request;
}

const SSE = { headers: ['last-event-id'], query: ['lastEventId'] };

describe('resumeIdOf', () => {
  it('reads the client position from the header, then the query', () => {
    expect(resumeIdOf(request({ 'Last-Event-ID': '5' }, { lastEventId: '3' }), 'history:sse:c', SSE)).toBe('5');
    expect(resumeIdOf(request({}, { lastEventId: '3' }), 'history:sse:c', SSE)).toBe('3');
    expect(resumeIdOf(request({}), 'history:sse:c', SSE)).toBeUndefined();
    expect(() => resumeIdOf(request({}, { lastEventId: 'x' }), 'history:sse:c', SSE)).toThrow(RequestParamError);
  });

  it("takes Grip-Last for its own channel, or the link's position when that is later (paging)", () => {
    const gripLast = 'other:c; last-id=99, history:sse:c; last-id=20';
    // Recovering a gap: Pushpin delivered up to 20 since the link (at 10) was written.
    expect(resumeIdOf(request({ 'Grip-Last': gripLast }, { lastEventId: '10' }), 'history:sse:c', SSE)).toBe('20');
    // Paging a long replay: the link (at 30) is past the last hold's Grip-Last, which Pushpin repeats.
    expect(resumeIdOf(request({ 'Grip-Last': gripLast }, { lastEventId: '30' }), 'history:sse:c', SSE)).toBe('30');
    expect(resumeIdOf(request({ 'Grip-Last': gripLast }), 'history:sse:c', SSE)).toBe('20');
    expect(resumeIdOf(request({ 'Grip-Last': 'history:sse:c; last-id=junk' }, { lastEventId: '7' }), 'history:sse:c', SSE)).toBe('7');
  });
});
