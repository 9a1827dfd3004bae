// The transports a client can subscribe over, and the paths of the public contract.

/** 'websocket': GET /ws; 'sse': GET /events/:channel; 'stream': NDJSON, GET /stream/:channel; 'poll': long-poll, GET /poll/:channel. */
export type TransportName = 'websocket' | 'sse' | 'stream' | 'poll';

/** Best first: the order a client falls back in when one cannot connect. */
export const TRANSPORT_NAMES: readonly TransportName[] = ['websocket', 'sse', 'stream', 'poll'];

export function isTransportName(value: unknown): value is TransportName {
  return TRANSPORT_NAMES.includes(value as TransportName);
}

const HTTP_PATH_PREFIX = { sse: 'events', stream: 'stream', poll: 'poll' } as const;

/** The path an HTTP transport subscribes at (the channel name needs no escaping, but is escaped all the same). */
export function subscribePath(transport: Exclude<TransportName, 'websocket'>, channel: string): string {
  return `/${HTTP_PATH_PREFIX[transport]}/${encodeURIComponent(channel)}`;
}

/** The path of a stream of several channels (`?channel=a&channel=b`, see streamPositions.ts). */
export function multiStreamPath(transport: 'sse' | 'stream'): string {
  return `/${HTTP_PATH_PREFIX[transport]}`;
}

/** The query parameter an HTTP transport's subscribe takes its position in (SSE also reads the Last-Event-ID header). */
export const RESUME_QUERY_PARAM = { sse: 'lastEventId', stream: 'since', poll: 'since' } as const;

/** Where a subscribe token goes in a URL, for clients that cannot set `Authorization: Bearer` (EventSource). */
export const TOKEN_QUERY_PARAM = 'token';

/** The media types of the streamed transports' answers (a client seeing another one reached something else). */
export const STREAM_CONTENT_TYPES = { sse: 'text/event-stream', stream: 'application/x-ndjson' } as const;

/** The history API's path for a channel. */
export function historyPath(channel: string): string {
  return `/api/channels/${encodeURIComponent(channel)}/messages`;
}

/** The publish API's path. */
export const PUBLISH_PATH = '/api/publish';
