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

/** The history API's path for a channel. */
export function historyPath(channel: string): string {
  return `/api/channels/${encodeURIComponent(channel)}/messages`;
}

/** The publish API's path. */
export const PUBLISH_PATH = '/api/publish';
