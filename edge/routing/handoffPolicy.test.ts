import { describe, expect, it } from 'vitest';
import { decideHandoff, type HandoffDecision } from './handoffPolicy.ts';

const settings = { realtimePaths: ['/events/', '/stream/', '/poll/', '/ws'] };
const request = (method: string, path: string, headers: Record<string, string> = {}) =>
  new Request(`http://edge.test${path}`, { method, headers });

describe('decideHandoff', () => {
  it.each<[string, Request, HandoffDecision]>([
    ['a WebSocket upgrade', request('GET', '/ws', { upgrade: 'websocket', connection: 'Upgrade' }), { handoff: true, reason: 'websocket-upgrade' }],
    ['a WebSocket upgrade on any path', request('GET', '/chat', { upgrade: 'WebSocket' }), { handoff: true, reason: 'websocket-upgrade' }],
    ['an upgrade token list', request('GET', '/x', { upgrade: 'h2c, websocket' }), { handoff: true, reason: 'websocket-upgrade' }],
    ['a POST claiming an upgrade', request('POST', '/x', { upgrade: 'websocket' }), { handoff: false }],
    ['an h2c upgrade', request('GET', '/x', { upgrade: 'h2c' }), { handoff: false }],
    ['GET /events/news', request('GET', '/events/news'), { handoff: true, reason: 'realtime-path' }],
    ['HEAD /events/news', request('HEAD', '/events/news'), { handoff: true, reason: 'realtime-path' }],
    ['GET /stream/c', request('GET', '/stream/c'), { handoff: true, reason: 'realtime-path' }],
    ['GET /poll/c?since=3', request('GET', '/poll/c?since=3'), { handoff: true, reason: 'realtime-path' }],
    ['GET /ws without an upgrade', request('GET', '/ws'), { handoff: true, reason: 'realtime-path' }],
    ['GET /wsdl (not below /ws)', request('GET', '/wsdl'), { handoff: false }],
    ['GET /events (no trailing slash, no channel)', request('GET', '/events'), { handoff: false }],
    ['GET /events?channel=a&channel=b (several channels on one stream)', request('GET', '/events?channel=a&channel=b:42'), { handoff: true, reason: 'multi-channel-stream' }],
    ['HEAD /events?channel=a', request('HEAD', '/events?channel=a'), { handoff: true, reason: 'multi-channel-stream' }],
    ['GET /stream?channel=a&channel=b', request('GET', '/stream?channel=a&channel=b'), { handoff: true, reason: 'multi-channel-stream' }],
    ['GET /events?lastEventId=a:1 (no channel)', request('GET', '/events?lastEventId=a:1'), { handoff: false }],
    ['POST /events?channel=a', request('POST', '/events?channel=a'), { handoff: false }],
    ['GET /eventsx?channel=a (not the root of /events/)', request('GET', '/eventsx?channel=a'), { handoff: false }],
    ['GET /poll?channel=a (a root too: the origin answers what it does not serve)', request('GET', '/poll?channel=a'), { handoff: true, reason: 'multi-channel-stream' }],
    ['GET /?channel=a (the root of no prefix)', request('GET', '/?channel=a'), { handoff: false }],
    ['POST /events/news', request('POST', '/events/news'), { handoff: false }],
    ['POST /ws (WebSocket-over-HTTP is for the proxy, not clients)', request('POST', '/ws'), { handoff: false }],
    ['GET with Accept: text/event-stream', request('GET', '/feed', { accept: 'text/event-stream' }), { handoff: true, reason: 'event-stream-accept' }],
    ['Accept among others, with parameters', request('GET', '/feed', { accept: 'application/json;q=0.5, Text/Event-Stream;q=1' }), { handoff: true, reason: 'event-stream-accept' }],
    ['HEAD with Accept: text/event-stream', request('HEAD', '/feed', { accept: 'text/event-stream' }), { handoff: false }],
    ['POST with Accept: text/event-stream', request('POST', '/feed', { accept: 'text/event-stream' }), { handoff: false }],
    ['a plain GET /', request('GET', '/'), { handoff: false }],
    ['GET /api/channels/c/messages', request('GET', '/api/channels/c/messages'), { handoff: false }],
    ['POST /api/publish', request('POST', '/api/publish'), { handoff: false }],
  ])('%s', (_name, req, expected) => {
    expect(decideHandoff(req, settings)).toEqual(expected);
  });

  it('follows configured realtime paths only', () => {
    const custom = { realtimePaths: ['/live/'] };
    expect(decideHandoff(request('GET', '/live/x'), custom)).toEqual({ handoff: true, reason: 'realtime-path' });
    expect(decideHandoff(request('GET', '/events/x'), custom)).toEqual({ handoff: false });
    expect(decideHandoff(request('GET', '/events/x'), { realtimePaths: [] })).toEqual({ handoff: false });
    expect(decideHandoff(request('GET', '/live?channel=a&channel=b'), custom)).toEqual({ handoff: true, reason: 'multi-channel-stream' });
    expect(decideHandoff(request('GET', '/events?channel=a'), custom)).toEqual({ handoff: false });
    // A prefix without a trailing slash matches its root by itself.
    expect(decideHandoff(request('GET', '/ws?channel=a'), { realtimePaths: ['/ws'] })).toEqual({ handoff: true, reason: 'realtime-path' });
  });
});
