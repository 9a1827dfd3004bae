// The JSON protocol spoken over GET /ws: client frames (parsed and validated by the origin, built by
// clients), server frames (built by the origin, read by clients), error codes and close codes. Pure,
// so the origin's session and every client share one definition.
import { CHANNEL_NAME_RULE, isValidChannelName } from './channelNames.ts';
import { isContinuityReset, type ContinuityReset } from './continuity.ts';
import { envelopeJson, isEnvelope, type Envelope } from './envelope.ts';
import { isMessageId } from './messageIds.ts';
import { presenceEventOf, presenceJson, type PresenceEvent } from './presence.ts';
import { fitsUtf8Bytes } from './utf8.ts';

/** The path of the WebSocket endpoint. */
export const WS_PATH = '/ws';

/** Longer subscribe tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;

/** Client frames above this are refused before parsing (a publish must fit 64 KiB once framed anyway). */
export const MAX_CLIENT_FRAME_BYTES = 128 * 1024;

// --- Client frames ---

/**
 * `presence`: enter the channel's presence as the token's `sub` (private channels only);
 * `presenceEvents`: also receive `presence` frames (member_joined, member_left).
 */
export interface SubscribeFrameOptions {
  since?: string | undefined;
  token?: string | undefined;
  presence?: boolean | undefined;
  presenceEvents?: boolean | undefined;
}

export type ClientCommand =
  | { type: 'subscribe'; channel: string; since?: string; token?: string; presence?: true; presenceEvents?: true }
  | { type: 'unsubscribe'; channel: string }
  /** `skipSelf`: the message does not come back to this connection (every other subscriber gets it). */
  | { type: 'publish'; channel: string; data: unknown; token?: string; skipSelf?: true }
  | { type: 'ping' };

/** Builds client frames (the text to send). */
export const clientFrames = {
  subscribe: (channel: string, options: SubscribeFrameOptions = {}) =>
    JSON.stringify({
      type: 'subscribe',
      channel,
      ...(options.since !== undefined ? { since: options.since } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.presence ? { presence: true } : {}),
      ...(options.presenceEvents ? { presenceEvents: true } : {}),
    }),
  unsubscribe: (channel: string) => JSON.stringify({ type: 'unsubscribe', channel }),
  publish: (channel: string, data: unknown, options: { token?: string | undefined; skipSelf?: boolean | undefined } = {}) =>
    JSON.stringify({
      type: 'publish',
      channel,
      data,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.skipSelf ? { skipSelf: true } : {}),
    }),
  ping: () => '{"type":"ping"}',
};

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
  | 'session_invalid'
  | 'presence_refused'
  | 'internal';

/**
 * Errors after which the same subscribe, repeated a moment later, can succeed (the client backs off
 * and subscribes again from its position); every other error on a subscribe is final for it.
 */
export const RETRYABLE_SUBSCRIBE_ERRORS: readonly WsErrorCode[] = ['subscribe_busy', 'subscribe_failed', 'history_unavailable', 'internal'];

export interface WsProtocolError {
  error: WsErrorCode;
  message: string;
  channel?: string;
}

function fail(error: WsErrorCode, message: string, channel?: string): WsProtocolError {
  return channel === undefined ? { error, message } : { error, message, channel };
}

function channelOf(frame: Record<string, unknown>): string | WsProtocolError {
  const { channel } = frame;
  return isValidChannelName(channel) ? channel : fail('invalid_channel', `"channel" must be ${CHANNEL_NAME_RULE}`);
}

/** The frame's subscribe token: absent, or a string no longer than any token accepted. */
function tokenOf(frame: Record<string, unknown>, channel: string): { token?: string } | WsProtocolError {
  const { token } = frame;
  if (token === undefined || token === null) return {};
  if (typeof token !== 'string' || token === '' || token.length > MAX_TOKEN_LENGTH) {
    return fail('invalid_token', `"token" must be a subscribe token string of at most ${MAX_TOKEN_LENGTH} characters`, channel);
  }
  return { token };
}

/** An optional boolean flag of a frame: absent (or false) or true; anything else is a malformed frame. */
function flagOf(frame: Record<string, unknown>, name: string, channel: string): boolean | WsProtocolError {
  const value = frame[name];
  if (value === undefined || value === null || value === false) return false;
  if (value === true) return true;
  return fail('invalid_frame', `"${name}" must be true or false`, channel);
}

/** Reads a client frame (the origin's side). */
export function parseClientFrame(text: string): ClientCommand | WsProtocolError {
  if (!fitsUtf8Bytes(text, MAX_CLIENT_FRAME_BYTES)) return fail('invalid_frame', `frames are limited to ${MAX_CLIENT_FRAME_BYTES} bytes`);
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
      const presence = flagOf(frame, 'presence', channel);
      if (typeof presence !== 'boolean') return presence;
      const presenceEvents = flagOf(frame, 'presenceEvents', channel);
      if (typeof presenceEvents !== 'boolean') return presenceEvents;
      const flags = { ...(presence ? { presence: true as const } : {}), ...(presenceEvents ? { presenceEvents: true as const } : {}) };
      if (frame.since === undefined || frame.since === null) return { type: 'subscribe', channel, ...token, ...flags };
      if (!isMessageId(frame.since)) return fail('invalid_since', '"since" must be a message id string such as "42"', channel);
      return { type: 'subscribe', channel, since: frame.since, ...token, ...flags };
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
      const skipSelf = flagOf(frame, 'skipSelf', channel);
      if (typeof skipSelf !== 'boolean') return skipSelf;
      return { type: 'publish', channel, data: frame.data, ...token, ...(skipSelf ? { skipSelf: true as const } : {}) };
    }
    default:
      return fail('unknown_type', `"type" must be one of subscribe, unsubscribe, publish, ping; got ${JSON.stringify(frame.type) ?? 'nothing'}`);
  }
}

export function isProtocolError(value: ClientCommand | WsProtocolError): value is WsProtocolError {
  return 'error' in value;
}

// --- Server frames ---

export type ServerFrame =
  /** `prev`: the id the message follows on its channel; a client whose last id is not `prev` missed something. */
  | ({ type: 'message'; prev?: string } & Envelope)
  /** `lastId`: the client's position; every message after it follows, once, in order. */
  | { type: 'subscribed'; channel: string; lastId: string; reset?: ContinuityReset }
  | { type: 'unsubscribed'; channel: string }
  /** A fresh token on a channel already subscribed: the subscription now ends at `expiresAt` (seconds). */
  | { type: 'refreshed'; channel: string; expiresAt: number }
  /**
   * `prev`: the position the message follows on its channel. A publish with `skipSelf` does not come
   * back to its connection, so the next message there names this id as its `prev`: the publisher moves
   * its position through it (prev -> id) without delivering it (see client/core/ownMessages.ts).
   */
  | { type: 'published'; channel: string; id: string; prev?: string }
  /** A member entered or left the channel (only on subscriptions with `presenceEvents`). */
  | ({ type: 'presence' } & PresenceEvent)
  /** `lastIds`: the last id of each channel the connection is subscribed to (the client's gap check). */
  | { type: 'pong'; lastIds?: Record<string, string> }
  | { type: 'error'; code: WsErrorCode | string; message: string; channel?: string };

/**
 * `{"type":"message", "prev"?, ...envelope}`, built by splicing the envelope's JSON after the type
 * (publishing is hot). A live-only message has neither id nor prev.
 */
export function wsMessageFrame(message: Envelope, json = envelopeJson(message), prev?: string): string {
  return prev === undefined ? `{"type":"message",${json.slice(1)}` : `{"type":"message","prev":${JSON.stringify(prev)},${json.slice(1)}`;
}

/** Builds server frames (the origin's side). */
export const serverFrames = {
  subscribed: (channel: string, lastId: string, reset?: ContinuityReset) =>
    JSON.stringify({ type: 'subscribed', channel, lastId, ...(reset ? { reset } : {}) }),
  unsubscribed: (channel: string) => JSON.stringify({ type: 'unsubscribed', channel }),
  refreshed: (channel: string, expiresAt: number) => JSON.stringify({ type: 'refreshed', channel, expiresAt }),
  published: (channel: string, id: string, prev?: string) =>
    JSON.stringify(prev === undefined ? { type: 'published', channel, id } : { type: 'published', channel, id, prev }),
  presence: (event: PresenceEvent) => presenceJson(event),
  pong: (lastIds?: Record<string, string>) => JSON.stringify(lastIds ? { type: 'pong', lastIds } : { type: 'pong' }),
  error: (problem: WsProtocolError) =>
    JSON.stringify({
      type: 'error',
      code: problem.error,
      message: problem.message,
      ...(problem.channel !== undefined ? { channel: problem.channel } : {}),
    }),
};

/** Reads a server frame (a client's side); a string says what is wrong with it. */
export function parseServerFrame(text: string): ServerFrame | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'a frame that is not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a frame that is not a JSON object';
  const v = value as Record<string, unknown>;
  const channelOk = isValidChannelName(v.channel);
  switch (v.type) {
    case 'message': {
      const { type: _type, prev, ...envelope } = v;
      if (!isEnvelope(envelope)) return 'a message frame that is not an envelope';
      if (prev !== undefined && !isMessageId(prev)) return 'a message frame whose prev is not a message id';
      return { type: 'message', ...(prev !== undefined ? { prev } : {}), ...envelope };
    }
    case 'subscribed':
      if (!channelOk || !isMessageId(v.lastId)) return 'a subscribed frame without channel and lastId';
      if (v.reset !== undefined && !isContinuityReset(v.reset)) return 'a subscribed frame with a malformed reset';
      return { type: 'subscribed', channel: v.channel as string, lastId: v.lastId, ...(v.reset !== undefined ? { reset: v.reset } : {}) };
    case 'unsubscribed':
      return channelOk ? { type: 'unsubscribed', channel: v.channel as string } : 'an unsubscribed frame without channel';
    case 'refreshed':
      return channelOk && typeof v.expiresAt === 'number'
        ? { type: 'refreshed', channel: v.channel as string, expiresAt: v.expiresAt }
        : 'a refreshed frame without channel and expiresAt';
    case 'published':
      if (!channelOk || !isMessageId(v.id)) return 'a published frame without channel and id';
      if (v.prev !== undefined && !isMessageId(v.prev)) return 'a published frame whose prev is not a message id';
      return { type: 'published', channel: v.channel as string, id: v.id, ...(v.prev !== undefined ? { prev: v.prev } : {}) };
    case 'presence': {
      const event = presenceEventOf(v);
      return event ? { type: 'presence', ...event } : 'a presence frame without action, channel, clientId and ts';
    }
    case 'pong': {
      if (v.lastIds === undefined) return { type: 'pong' };
      if (typeof v.lastIds !== 'object' || v.lastIds === null) return 'a pong whose lastIds is not an object';
      const lastIds: Record<string, string> = {};
      for (const [channel, id] of Object.entries(v.lastIds as Record<string, unknown>)) {
        if (!isValidChannelName(channel) || !isMessageId(id)) return 'a pong whose lastIds holds something that is not a channel and an id';
        lastIds[channel] = id;
      }
      return { type: 'pong', lastIds };
    }
    case 'error':
      if (typeof v.code !== 'string' || typeof v.message !== 'string') return 'an error frame without code and message';
      return { type: 'error', code: v.code, message: v.message, ...(channelOk ? { channel: v.channel as string } : {}) };
    default:
      return `a frame of unknown type ${JSON.stringify(v.type)}`;
  }
}

// --- Close codes ---

/** WebSocket close codes the origin sends (RFC 6455 section 7.4 plus the private 4000 range). */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  policyViolation: 1008,
  internalError: 1011,
  /** A subscription's token expired and no fresh one came: reconnect with one, and `since`. */
  tokenExpired: 4001,
  /** The origin could not verify the connection's session state (its keys changed): reconnect, subscribe again with `since`. */
  sessionInvalid: 4002,
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
