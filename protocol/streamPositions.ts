// Several channels on one SSE or NDJSON stream (GET /events?channel=a&channel=b, GET /stream?...):
// how a channel and its position are named in the query, the position of the whole stream (one
// string, so that it fits an SSE id and the Last-Event-ID header), and how many proxy subscriptions
// such a stream takes. Parsed strictly: what a client sends here is checked before anything is read.
import { CHANNEL_NAME_RULE, isValidChannelName } from './channelNames.ts';
import { isMessageId, MESSAGE_ID_RULE } from './messageIds.ts';

/** The query parameter naming each channel of a multi-channel stream: `name`, or `name:id` to resume after `id`. */
export const STREAM_CHANNEL_PARAM = 'channel';

/**
 * Fanout's subscriptions per connection (`connection_subscription_max=20` in Fastly's build). Pushpin
 * applies it to stream holds too: it keeps the first 20 channels of a hold and drops the others with
 * nothing but a log line (handler/httpsession.cpp), so a stream must never ask for more.
 */
export const MAX_CONNECTION_SUBSCRIPTIONS = 20;

/** What a multi-channel stream holds, beyond its channels' count. */
export interface StreamHoldNeeds {
  channels: number;
  /** `?presence=1`: member events of every channel. */
  presenceEvents: boolean;
  /** A private channel among them: the stream also holds its token's expiry channels. */
  private: boolean;
}

/**
 * The proxy subscriptions a stream holds: per channel its history channel (the origin's stored
 * messages) and its live channel (publishes straight to the proxy, channel closes), one more with
 * member events; two for a private stream (its token's expiry and the expiry sweep, once per stream).
 */
export function streamSubscriptions(needs: StreamHoldNeeds): number {
  return needs.channels * (needs.presenceEvents ? 3 : 2) + (needs.private ? 2 : 0);
}

/** The most channels one stream can carry under `max` subscriptions (10 by default: public, no member events). */
export function maxStreamChannels(needs: Omit<StreamHoldNeeds, 'channels'>, max = MAX_CONNECTION_SUBSCRIPTIONS): number {
  return Math.max(0, Math.floor((max - (needs.private ? 2 : 0)) / (needs.presenceEvents ? 3 : 2)));
}

/** One channel of a stream and the id it resumes after (undefined: live from the channel's position). */
export interface StreamChannel {
  channel: string;
  since?: string | undefined;
}

/** A `channel` parameter's value: `name` or `name:id`. */
export function streamChannelParam({ channel, since }: StreamChannel): string {
  return since === undefined ? channel : `${channel}:${since}`;
}

/** Reads a `channel` parameter (`name` or `name:id`); a string says what is wrong with it. */
export function parseStreamChannelParam(value: string): StreamChannel | string {
  const colon = value.indexOf(':');
  const channel = colon < 0 ? value : value.slice(0, colon);
  if (!isValidChannelName(channel)) return `"channel" must be a channel name (${CHANNEL_NAME_RULE}), optionally followed by ":" and the id to resume after; got ${JSON.stringify(value)}`;
  if (colon < 0) return { channel };
  const since = value.slice(colon + 1);
  return isMessageId(since) ? { channel, since } : `"channel=${channel}:" must be followed by ${MESSAGE_ID_RULE}; got ${JSON.stringify(since)}`;
}

/**
 * The longest position text: a full stream of the longest names and ids, MAX_CONNECTION_SUBSCRIPTIONS
 * x (MAX_CHANNEL_NAME_LENGTH + MAX_MESSAGE_ID_DIGITS + 2); anything longer is refused unread. (A
 * literal: a computed constant stays in the client's bundle, which does not use it.)
 */
export const MAX_STREAM_POSITION_LENGTH = 2960;

export const STREAM_POSITION_RULE = 'a list of channel:id pairs separated by commas, each channel once (e.g. "news:42,sport:7")';

/**
 * The position of a whole stream: `channel:id` for each channel, comma separated (`news:42,sport:7`).
 * Neither ':' nor ',' can be part of a channel name or an id, and both pass in a URL path, a query,
 * an SSE `id:` line and the Last-Event-ID header unchanged.
 */
export function formatStreamPosition(entries: Iterable<readonly [channel: string, id: string]>): string {
  const parts: string[] = [];
  for (const [channel, id] of entries) parts.push(`${channel}:${id}`);
  return parts.join(',');
}

/** Reads a stream position (see formatStreamPosition), in its order; a string says what is wrong with it. */
export function parseStreamPosition(text: string): Array<[channel: string, id: string]> | string {
  if (text.length > MAX_STREAM_POSITION_LENGTH) return `a stream position is at most ${MAX_STREAM_POSITION_LENGTH} characters`;
  const entries: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const colon = part.indexOf(':');
    const channel = part.slice(0, colon);
    const id = part.slice(colon + 1);
    if (colon < 0 || !isValidChannelName(channel) || !isMessageId(id)) {
      return `a stream position is ${STREAM_POSITION_RULE}; ${JSON.stringify(part)} is not a channel:id pair`;
    }
    if (seen.has(channel)) return `a stream position names each channel once; ${channel} is named twice`;
    seen.add(channel);
    entries.push([channel, id]);
  }
  if (entries.length > MAX_CONNECTION_SUBSCRIPTIONS) return `a stream position names at most ${MAX_CONNECTION_SUBSCRIPTIONS} channels`;
  return entries;
}
