// Each transport subscribes to its own GRIP channel, because SSE and NDJSON both use the http-stream
// format and one item can carry only one http-stream content. User channel names cannot contain ':'.
export type Transport = 'sse' | 'stream' | 'poll' | 'ws';

export const TRANSPORTS: readonly Transport[] = ['sse', 'stream', 'poll', 'ws'];

export function gripChannelFor(transport: Transport, channel: string): string {
  return `${transport}:${channel}`;
}

/** Letters, digits, '_', '-', '.'; 1-128 characters; not starting with '.'. */
const CHANNEL_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export function isValidChannelName(channel: string): boolean {
  return CHANNEL_NAME.test(channel);
}

export const CHANNEL_NAME_RULE = "1-128 characters of letters, digits, '_', '-' and '.', not starting with '.'";
