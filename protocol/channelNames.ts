// The channel-name rule, for every route, frame, token pattern and client. GRIP channel names the
// origin derives from a user channel (`ws:news`, `history:sse:news`) contain ':', which no user
// channel can, so the two never collide.

export const MAX_CHANNEL_NAME_LENGTH = 128;

/** Letters, digits, '_', '-', '.'; 1-128 characters; not starting with '.'. */
const CHANNEL_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export const CHANNEL_NAME_RULE = "1-128 characters of letters, digits, '_', '-' and '.', not starting with '.'";

export function isValidChannelName(channel: unknown): channel is string {
  return typeof channel === 'string' && CHANNEL_NAME.test(channel);
}
