// The URLs of the public contract, from the service's base URL (which may carry a path prefix).
import {
  historyPath,
  multiStreamPath,
  PRESENCE_EVENTS_QUERY_PARAM,
  presencePath,
  RESUME_QUERY_PARAM,
  STREAM_CHANNEL_PARAM,
  streamChannelParam,
  subscribePath,
  TOKEN_QUERY_PARAM,
  type StreamChannel,
  WS_PATH,
  type TransportName,
} from '../../protocol/index.ts';

/** The base as http(s), without a trailing slash (a ws(s) base is taken as its http(s) twin). */
export function httpBase(base: string): string {
  return base.replace(/^ws(s?):/i, 'http$1:').replace(/\/+$/, '');
}

export function webSocketUrl(base: string): string {
  return httpBase(base).replace(/^http/i, 'ws') + WS_PATH;
}

/**
 * An HTTP transport's subscribe URL: the position in its query (`?lastEventId=` for SSE, which works
 * where no header can be set) and the token there only when asked (an EventSource cannot send
 * `Authorization`; the edge moves `?token=` into that header). Given a list of channels, a stream of
 * several: each channel with its position (`/events?channel=a:42&channel=b`).
 */
export function subscribeUrl(
  base: string,
  transport: Exclude<TransportName, 'websocket'>,
  channel: string | readonly StreamChannel[],
  since?: string,
  token?: string,
  options: { presenceEvents?: boolean | undefined } = {},
): string {
  const query = new URLSearchParams();
  const one = typeof channel === 'string';
  if (!one) for (const c of channel) query.append(STREAM_CHANNEL_PARAM, streamChannelParam(c));
  else if (since !== undefined) query.set(RESUME_QUERY_PARAM[transport], since);
  if (token !== undefined) query.set(TOKEN_QUERY_PARAM, token);
  // Member events: SSE and NDJSON streams (a long-poll answers with messages only).
  if (options.presenceEvents && transport !== 'poll') query.set(PRESENCE_EVENTS_QUERY_PARAM, '1');
  const q = query.toString();
  return httpBase(base) + (one ? subscribePath(transport, channel) : multiStreamPath(transport as 'sse')) + (q ? `?${q}` : '');
}

/** The presence API: a page of members after `after` (see PresenceSnapshot.next). */
export function presenceUrl(base: string, channel: string, page: { after?: string | undefined; limit?: number | undefined } = {}): string {
  const query = new URLSearchParams();
  if (page.after !== undefined) query.set('after', page.after);
  if (page.limit !== undefined) query.set('limit', String(page.limit));
  const q = query.toString();
  return `${httpBase(base)}${presencePath(channel)}${q ? `?${q}` : ''}`;
}

/** One message of history after `since` at most: enough to say whether one exists, and the channel's last id. */
export function historyProbeUrl(base: string, channel: string, since?: string): string {
  return `${httpBase(base)}${historyPath(channel)}?${since === undefined ? '' : `since=${since}&`}limit=1`;
}
