// Which subscriptions share one SSE or NDJSON stream. A browser has six HTTP/1.1 connections per
// host, so subscriptions on a stream transport go onto streams of several channels
// (GET /events?channel=a&channel=b): those with the same token (no token, or the same string or
// function) share one, as many channels as the proxy's subscriptions per connection allow, each
// channel once. Opening is put off to the end of the current turn: several subscribes at once make
// one stream.
import { MAX_CONNECTION_SUBSCRIPTIONS, streamSubscriptions } from '../../protocol/index.ts';

/** The proxy's subscriptions per connection the client plans with (Fanout's; the origin may say fewer). */
export const STREAM_SUBSCRIPTION_CAP = MAX_CONNECTION_SUBSCRIPTIONS;

export interface StreamMember {
  channel: string;
  /** `events`: it takes member events (the stream is opened with ?presence=1 for all its channels). */
  presence?: { events: boolean } | undefined;
}

/**
 * Whether `candidate` can join a stream of `members`: not its channel twice, and the subscriptions
 * within `cap`. A token means private channels may be among them (the client cannot tell): their
 * expiry channels are counted. The first member always fits (one channel goes on its own stream).
 */
export function canJoinStream(members: readonly StreamMember[], candidate: StreamMember, withToken: boolean, cap: number): boolean {
  if (members.length === 0) return true;
  if (members.some((m) => m.channel === candidate.channel)) return false;
  const events = [candidate, ...members].some((m) => m.presence?.events);
  return streamSubscriptions({ channels: members.length + 1, presenceEvents: events, private: withToken }) <= cap;
}
