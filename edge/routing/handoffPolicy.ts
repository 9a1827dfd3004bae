// Which requests Fastly Fanout should hold. Only these bypass the cache: everything else is forwarded
// through it (the starter kit hands off every GET, which makes the whole site uncacheable).
import { matchesPathPrefix } from './pathPrefix.ts';

export type HandoffDecision =
  | { handoff: true; reason: 'websocket-upgrade' | 'realtime-path' | 'multi-channel-stream' | 'event-stream-accept' }
  | { handoff: false };

export interface HandoffSettings {
  realtimePaths: readonly string[];
}

function headerTokens(value: string | null): string[] {
  return (value ?? '').split(',').map((token) => token.trim().toLowerCase());
}

/** A WebSocket opening handshake (RFC 6455 requires GET with `Upgrade: websocket`). */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.method === 'GET' && headerTokens(request.headers.get('upgrade')).includes('websocket');
}

/** The client asks for Server-Sent Events (`Accept: text/event-stream`, media type parameters ignored). */
export function acceptsEventStream(request: Request): boolean {
  return headerTokens(request.headers.get('accept')).some((range) => range.split(';')[0]!.trim() === 'text/event-stream');
}

/** The query parameter naming each channel of a stream of several (protocol/streamPositions.ts). */
const STREAM_CHANNEL_PARAM = 'channel';

/**
 * A stream of several channels: `GET /events?channel=a&channel=b` (or `/stream?...`), the root of a
 * realtime prefix that ends in "/" ("/events/"), with channels named in the query. Without a channel
 * the root is left to the cache path: the site may serve a page there.
 */
function isMultiChannelStream(url: URL, settings: HandoffSettings): boolean {
  return url.searchParams.has(STREAM_CHANNEL_PARAM) && settings.realtimePaths.some((prefix) => prefix.endsWith('/') && prefix.length > 1 && url.pathname === prefix.slice(0, -1));
}

export function decideHandoff(request: Request, settings: HandoffSettings): HandoffDecision {
  if (isWebSocketUpgrade(request)) return { handoff: true, reason: 'websocket-upgrade' };
  if (request.method !== 'GET' && request.method !== 'HEAD') return { handoff: false };
  const url = new URL(request.url);
  const { pathname } = url;
  if (settings.realtimePaths.some((prefix) => matchesPathPrefix(pathname, prefix))) {
    return { handoff: true, reason: 'realtime-path' };
  }
  if (isMultiChannelStream(url, settings)) return { handoff: true, reason: 'multi-channel-stream' };
  if (request.method === 'GET' && acceptsEventStream(request)) return { handoff: true, reason: 'event-stream-accept' };
  return { handoff: false };
}
