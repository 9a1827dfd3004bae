import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createEventStreamReader,
  isPresenceInfo,
  ndjsonPresence,
  parseLeaseAnswer,
  parseLeaseRequest,
  parseNdjsonLine,
  parsePresenceSnapshot,
  parseServerFrame,
  parseSseEvent,
  PRESENCE_INFO_MAX_BYTES,
  presenceLeasePath,
  serverFrames,
  ssePresence,
  type PresenceEvent,
} from './index.ts';

const event: PresenceEvent = { action: 'member_joined', channel: 'private-room', clientId: 'alice "the" admin', info: { name: 'Alice', n: [1] }, ts: 1700000000000 };

describe('presence events on every transport', () => {
  it('reads back the event from a WebSocket frame, an SSE event and an NDJSON line', () => {
    const eventArb = fc.record(
      {
        action: fc.constantFrom('member_joined' as const, 'member_left' as const),
        channel: fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,20}$/),
        clientId: fc.string({ minLength: 1, maxLength: 128 }),
        info: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>),
        ts: fc.nat(),
      },
      { requiredKeys: ['action', 'channel', 'clientId', 'ts'] },
    );
    fc.assert(
      fc.property(eventArb, (e) => {
        expect(parseServerFrame(serverFrames.presence(e))).toEqual({ type: 'presence', ...e });
        expect(parseNdjsonLine(ndjsonPresence(e).slice(0, -1))).toEqual({ kind: 'presence', event: e });
        const seen: unknown[] = [];
        const reader = createEventStreamReader({ event: (sse) => seen.push(parseSseEvent(sse.type, sse.data)) }, '42');
        reader.push(ssePresence(e));
        expect(seen).toEqual([{ kind: 'presence', event: e }]);
        // No id line: the position (Last-Event-ID) stays.
        expect(reader.lastEventId).toBe('42');
      }),
    );
  });

  it('keeps an SSE presence event out of onmessage (a named event) and says what a malformed one lacks', () => {
    expect(ssePresence(event).startsWith('event: presence\n')).toBe(true);
    expect(parseSseEvent('presence', '{"channel":"c","action":"member_joined","ts":1}')).toMatchObject({ kind: 'invalid' });
    expect(parseNdjsonLine('{"type":"presence","channel":"c","action":"waved","clientId":"a","ts":1}')).toMatchObject({ kind: 'invalid' });
    expect(parseServerFrame('{"type":"presence","channel":"c","clientId":"a","ts":1}')).toContain('presence frame');
  });

  it('bounds member info at PRESENCE_INFO_MAX_BYTES of JSON, objects only', () => {
    expect(isPresenceInfo({ name: 'x'.repeat(PRESENCE_INFO_MAX_BYTES - 11) })).toBe(true);
    expect(isPresenceInfo({ name: 'x'.repeat(PRESENCE_INFO_MAX_BYTES - 10) })).toBe(false);
    expect(isPresenceInfo({ name: 'é'.repeat(PRESENCE_INFO_MAX_BYTES / 2) })).toBe(false);
    for (const v of [null, 'text', 3, [1], undefined]) expect(isPresenceInfo(v)).toBe(false);
  });
});

describe('the lease API and the presence snapshot', () => {
  it('reads lease requests and answers', () => {
    expect(parseLeaseRequest({ transport: 'sse', presence: true })).toEqual({ transport: 'sse', presence: true });
    expect(parseLeaseRequest({ transport: 'poll', presence: false })).toEqual({ transport: 'poll' });
    expect(parseLeaseRequest({ transport: 'websocket' })).toMatch(/transport/);
    expect(parseLeaseRequest({ transport: 'sse', presence: 'yes' })).toMatch(/presence/);
    expect(parseLeaseRequest([])).toMatch(/object/);
    const answer = { channel: 'c', leaseId: 'abcdefghijklmnop', expiresInMs: 30_000, renewInMs: 10_000 };
    expect(parseLeaseAnswer(answer)).toEqual(answer);
    expect(parseLeaseAnswer({ ...answer, renewInMs: 0 })).toMatch(/renewInMs/);
    expect(parseLeaseAnswer({ ...answer, leaseId: 'short' })).toMatch(/leaseId/);
    expect(presenceLeasePath('a.b', 'abcdefghijklmnop')).toBe('/api/channels/a.b/presence/leases/abcdefghijklmnop');
  });

  it('reads a snapshot, filling transports it did not name', () => {
    const snapshot = parsePresenceSnapshot({
      channel: 'c',
      occupancy: { connections: 3, members: 1, byTransport: { websocket: 2, sse: 1 } },
      members: [{ clientId: 'a', info: { x: 1 }, connections: 2 }],
      next: 'a',
    });
    expect(snapshot).toEqual({
      channel: 'c',
      occupancy: { connections: 3, members: 1, byTransport: { websocket: 2, sse: 1, stream: 0, poll: 0 } },
      members: [{ clientId: 'a', info: { x: 1 }, connections: 2 }],
      next: 'a',
    });
    expect(parsePresenceSnapshot({ channel: 'c', occupancy: {}, members: [] })).toMatch(/occupancy/);
  });
});
