// What a stream of several channels asks for (GET /events?channel=a&channel=b:42, GET /stream?...):
// its channels in order, where each resumes, and whether it takes member events. Checked strictly
// before anything is read: a malformed name or position is a 400 naming it, never a guess.
//
// A channel's position comes from, first to last: a next link's path (Pushpin paging a replay; it
// names every channel), the stream position the client gives (SSE: Last-Event-ID, then
// ?lastEventId=; NDJSON: ?since=), which replaces the positions of the channels it names, and the
// channel's own `channel=name:id` parameter. A channel with none starts live from its position.
import {
  isMessageId,
  parseStreamChannelParam,
  parseStreamPosition,
  STREAM_CHANNEL_PARAM,
  STREAM_POSITION_RULE,
  type StreamChannel,
} from '../../protocol/index.ts';
import { RequestParamError } from './realtimeRequest.ts';

export interface MultiStreamRequest {
  channels: StreamChannel[];
  /** `?presence=1` (or kept by a next link): member events of every channel. */
  presenceEvents: boolean;
}

export interface MultiStreamInput {
  /** A next link's position (its path), which names every channel. */
  linkPosition?: string | undefined;
  /** The `channel` query parameter as parsed (a string, or a list when given several times). */
  channelParams: unknown;
  /** The stream position's sources in order (name for the error message, value); the first non-empty one counts. */
  positions: Array<[name: string, value: unknown]>;
  presenceEvents: boolean;
}

export function multiStreamRequestOf(input: MultiStreamInput): MultiStreamRequest {
  if (input.linkPosition !== undefined) {
    const entries = parseStreamPosition(input.linkPosition);
    if (typeof entries === 'string') throw new RequestParamError(`the link's position: ${entries}`);
    return { channels: entries.map(([channel, since]) => ({ channel, since })), presenceEvents: input.presenceEvents };
  }
  const channels = channelsOf(input.channelParams);
  const given = input.positions.find(([, value]) => value !== undefined && value !== '');
  if (given) applyPosition(channels, given[0], given[1]);
  return { channels, presenceEvents: input.presenceEvents };
}

function channelsOf(params: unknown): StreamChannel[] {
  const values = params === undefined ? [] : Array.isArray(params) ? params : [params];
  if (values.length === 0) throw new RequestParamError(`name the stream's channels: ?${STREAM_CHANNEL_PARAM}=a&${STREAM_CHANNEL_PARAM}=b (each may be "name:id" to resume after id)`);
  const channels: StreamChannel[] = [];
  const seen = new Set<string>();
  for (const value of values) {
    if (typeof value !== 'string') throw new RequestParamError(`"${STREAM_CHANNEL_PARAM}" must be a plain query parameter`);
    const parsed = parseStreamChannelParam(value);
    if (typeof parsed === 'string') throw new RequestParamError(parsed);
    if (seen.has(parsed.channel)) throw new RequestParamError(`the stream names ${parsed.channel} twice; name each channel once`);
    seen.add(parsed.channel);
    channels.push(parsed);
  }
  return channels;
}

function applyPosition(channels: StreamChannel[], name: string, value: unknown): void {
  if (typeof value !== 'string') throw new RequestParamError(`${name} must be given once`);
  if (isMessageId(value)) {
    // A single id names no channel: it is a position only on a stream of one. EventSource's own
    // reconnect sends the id of the last event it saw, a message's after the first live one.
    if (channels.length === 1) return void (channels[0]!.since = value);
    throw new RequestParamError(
      `${name} "${value}" is a single message id, which names no channel; a stream of ${channels.length} channels resumes from a position naming each (${STREAM_POSITION_RULE}). ` +
        "EventSource's own reconnect sends the id of the last event: reopen the stream with ?lastEventId= built from each event's channel and id, or with the id of the stream's opening position block",
    );
  }
  const entries = parseStreamPosition(value);
  if (typeof entries === 'string') throw new RequestParamError(`${name}: ${entries}`);
  const byName = new Map(channels.map((c) => [c.channel, c]));
  for (const [channel, since] of entries) {
    const target = byName.get(channel);
    if (!target) throw new RequestParamError(`${name} names ${channel}, which is not a channel of this stream`);
    target.since = since;
  }
}
