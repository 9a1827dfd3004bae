// Which requests Fastly Fanout should hold. Only these bypass the cache: everything else is forwarded
// through it (the starter kit hands off every GET, which makes the whole site uncacheable).
import { matchesPathPrefix } from './pathPrefix.ts';

export type HandoffDecision =
  | { handoff: true; reason: 'websocket-upgrade' | 'realtime-path' | 'event-stream-accept' }
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

export function decideHandoff(request: Request, settings: HandoffSettings): HandoffDecision {
  if (isWebSocketUpgrade(request)) return { handoff: true, reason: 'websocket-upgrade' };
  if (request.method !== 'GET' && request.method !== 'HEAD') return { handoff: false };
  const { pathname } = new URL(request.url);
  if (settings.realtimePaths.some((prefix) => matchesPathPrefix(pathname, prefix))) {
    return { handoff: true, reason: 'realtime-path' };
  }
  if (request.method === 'GET' && acceptsEventStream(request)) return { handoff: true, reason: 'event-stream-accept' };
  return { handoff: false };
}
