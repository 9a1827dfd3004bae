// The JSON protocol spoken over /ws. Client frames are parsed and validated here, pure, so the route
// only decides what to do; server frames are built here so their shapes live in one place.
import { isMessageId } from '../history/historyStore.ts';
import type { ContinuityReset } from '../history/resumePlan.ts';
import { MAX_TOKEN_LENGTH } from '../access/subscribeToken.ts';
import { CHANNEL_NAME_RULE, isValidChannelName } from './gripChannels.ts';

export type ClientCommand =
  | { type: 'subscribe'; channel: string; since?: string; token?: string }
  | { type: 'unsubscribe'; channel: string }
  | { type: 'publish'; channel: string; data: unknown; token?: string }
  | { type: 'ping' };

export type WsErrorCode =
  | 'invalid_json'
  | 'invalid_frame'
  | 'unknown_type'
  | 'invalid_channel'
  | 'invalid_since'
  | 'too_many_subscriptions'
  | 'publish_forbidden'
  | 'invalid_message'
  | 'message_too_large'
  | 'id_conflict'
  | 'history_unavailable'
  | 'publish_failed'
  | 'subscribe_busy'
  | 'subscribe_failed'
  | 'binary_unsupported'
  | 'invalid_token'
  | 'forbidden'
  | 'token_expired'
  | 'internal';

export interface WsProtocolError {
  error: WsErrorCode;
  message: string;
  channel?: string;
}

/** Client frames above this are refused before parsing (a publish must fit 64 KiB once framed anyway). */
export const MAX_CLIENT_FRAME_BYTES = 128 * 1024;

function fail(error: WsErrorCode, message: string, channel?: string): WsProtocolError {
  return channel === undefined ? { error, message } : { error, message, channel };
}

function channelOf(frame: Record<string, unknown>): string | WsProtocolError {
  const { channel } = frame;
  if (typeof channel !== 'string' || !isValidChannelName(channel)) {
    return fail('invalid_channel', `"channel" must be ${CHANNEL_NAME_RULE}`);
  }
  return channel;
}

/** The frame's subscribe token: absent, or a string no longer than any token we accept. */
function tokenOf(frame: Record<string, unknown>, channel: string): { token?: string } | WsProtocolError {
  const { token } = frame;
  if (token === undefined || token === null) return {};
  if (typeof token !== 'string' || token === '' || token.length > MAX_TOKEN_LENGTH) {
    return fail('invalid_token', `"token" must be a subscribe token string of at most ${MAX_TOKEN_LENGTH} characters`, channel);
  }
  return { token };
}

export function parseClientFrame(text: string): ClientCommand | WsProtocolError {
  if (Buffer.byteLength(text) > MAX_CLIENT_FRAME_BYTES) {
    return fail('invalid_frame', `frames are limited to ${MAX_CLIENT_FRAME_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('invalid_json', 'frames must be JSON objects such as {"type":"subscribe","channel":"news"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail('invalid_frame', 'a frame must be a JSON object with a "type"');
  }
  const frame = parsed as Record<string, unknown>;
  switch (frame.type) {
    case 'ping':
      return { type: 'ping' };
    case 'subscribe': {
      const channel = channelOf(frame);
      if (typeof channel !== 'string') return channel;
      const token = tokenOf(frame, channel);
      if ('error' in token) return token;
      if (frame.since === undefined || frame.since === null) return { type: 'subscribe', channel, ...token };
      if (typeof frame.since !== 'string' || !isMessageId(frame.since)) {
        return fail('invalid_since', '"since" must be a message id string such as "42"', channel);
      }
      return { type: 'subscribe', channel, since: frame.since, ...token };
    }
    case 'unsubscribe': {
      const channel = channelOf(frame);
      return typeof channel === 'string' ? { type: 'unsubscribe', channel } : channel;
    }
    case 'publish': {
      const channel = channelOf(frame);
      if (typeof channel !== 'string') return channel;
      if (frame.data === undefined) return fail('invalid_message', '"data" is required (any JSON value)', channel);
      if (frame.id !== undefined) return fail('invalid_message', 'clients may not choose ids: the origin assigns them', channel);
      const token = tokenOf(frame, channel);
      if ('error' in token) return token;
      return { type: 'publish', channel, data: frame.data, ...token };
    }
    default:
      return fail(
        'unknown_type',
        `"type" must be one of subscribe, unsubscribe, publish, ping; got ${JSON.stringify(frame.type) ?? 'nothing'}`,
      );
  }
}

export function isProtocolError(value: ClientCommand | WsProtocolError): value is WsProtocolError {
  return 'error' in value;
}

export const serverFrames = {
  /**
   * `lastId`: the client's position; every message after it follows, exactly once, in order. `reset`:
   * the `since` asked for could not be continued (see ContinuityReset).
   */
  subscribed: (channel: string, lastId: string, reset?: ContinuityReset) =>
    JSON.stringify({ type: 'subscribed', channel, lastId, ...(reset ? { reset } : {}) }),
  unsubscribed: (channel: string) => JSON.stringify({ type: 'unsubscribed', channel }),
  /** A subscribe with a fresh token on a channel already subscribed: the subscription now ends at `expiresAt`. */
  refreshed: (channel: string, expiresAt: number) => JSON.stringify({ type: 'refreshed', channel, expiresAt }),
  published: (channel: string, id: string) => JSON.stringify({ type: 'published', channel, id }),
  /** `lastIds`: the last id of each channel the connection is subscribed to (the client's gap check). */
  pong: (lastIds?: Record<string, string>) => JSON.stringify(lastIds ? { type: 'pong', lastIds } : { type: 'pong' }),
  error: (problem: WsProtocolError) =>
    JSON.stringify({
      type: 'error',
      code: problem.error,
      message: problem.message,
      ...(problem.channel !== undefined ? { channel: problem.channel } : {}),
    }),
};

/** WebSocket close codes this origin sends (RFC 6455 section 7.4 plus the private 4000 range). */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  policyViolation: 1008,
  internalError: 1011,
  /** A subscription's token expired and no fresh one came: reconnect with one, and `since`. */
  tokenExpired: 4001,
} as const;

/**
 * The code to answer a client's close with: its own when an endpoint may send it (RFC 6455 7.4.1-2:
 * 1000-1003, 1007-1014, 3000-4999), 1000 when it sent none (1005), else 1002: a code such as 0 or
 * 1006 would reach the client as a protocol violation of ours.
 */
export function closeReplyCode(received: number): number {
  if (received === 1005) return CLOSE_CODES.normal;
  const sendable = (received >= 1000 && received <= 1014 && ![1004, 1005, 1006].includes(received)) || (received >= 3000 && received <= 4999);
  return sendable ? received : CLOSE_CODES.protocolError;
}
