// A WebSocket connection's presence leases: one per channel it holds (subscribed, or still catching
// up), under the connection's filter user, carrying a member where it subscribed with
// "presence": true. The origin keeps no connection state, so the leases follow from the session
// state alone: what a request changed (a subscribe, an unsubscribe, a close) is taken or released at
// once, and every request at least RENEW_AFTER_MS after the last renewal renews them all. An idle
// connection makes such a request every Keep-Alive-Interval (the proxy calls the origin for it), so
// a lease lives WS_LEASE_MARGIN_MS past the longest a live connection can go without renewing it,
// and one that vanished without a word (an origin restart, a proxy cut) lapses that much later.
import type { LeaseRelease, LeaseTouch } from '../presence/presenceStore.ts';
import type { WsPresenceEntry, WsSessionState } from './wsSessionState.ts';

export interface WsPresencePort {
  /** Takes or renews leases (for wsLeaseTtlMs); answers those refused (their channel is full). Throws when the store is unreachable. */
  touch(touches: LeaseTouch[]): Promise<LeaseTouch[]>;
  release(releases: LeaseRelease[]): Promise<void>;
  /** Keep-Alive-Interval asked of the proxy while the connection holds leases (seconds, at least Pushpin's 20). */
  keepAliveSeconds: number;
}

/** A connection's leases are renewed by a request at least this long after the last renewal (chatty connections do not renew per frame). */
export const RENEW_AFTER_MS = 5000;
/** Slack for a request's own time and the store's round trip. */
export const WS_LEASE_MARGIN_MS = 5000;

/**
 * How long a WebSocket lease lives: an idle connection calls the origin every keep-alive, a busy one
 * renews at its first request RENEW_AFTER_MS after the last renewal, so renewals are at most
 * keep-alive + RENEW_AFTER_MS apart.
 */
export function wsLeaseTtlMs(keepAliveSeconds: number): number {
  return keepAliveSeconds * 1000 + RENEW_AFTER_MS + WS_LEASE_MARGIN_MS;
}

export function wsConnectionKey(user: string): string {
  return `ws:${user}`;
}

/** The channels a connection holds a lease on: subscribed, or still subscribing. */
export function leasedChannels(state: WsSessionState): string[] {
  return [...new Set([...state.subscriptions, ...state.pending.map((p) => p.channel)])];
}

export function leaseOf(user: string, channel: string, entry: WsPresenceEntry | undefined): LeaseTouch {
  return {
    channel,
    connection: wsConnectionKey(user),
    transport: 'websocket',
    ...(entry ? { member: { clientId: entry.clientId, ...(entry.info !== undefined ? { info: entry.info } : {}) } } : {}),
  };
}

/** Every lease the connection holds, with its member. */
export function leasesOf(state: WsSessionState): LeaseTouch[] {
  const user = state.user;
  if (!user) return [];
  return leasedChannels(state).map((channel) => leaseOf(user, channel, state.presence?.find((e) => e.channel === channel)));
}

/** The state with presence entries only for channels it still holds (a failed or ended subscribe leaves presence). */
export function prunePresence(state: WsSessionState): WsSessionState {
  if (!state.presence) return state;
  const held = new Set(leasedChannels(state));
  const presence = state.presence.filter((e) => held.has(e.channel));
  if (presence.length === state.presence.length) return state;
  const { presence: _dropped, ...rest } = state;
  return presence.length > 0 ? { ...rest, presence } : rest;
}

/** Distinct members among entries (a connection may be in presence as at most a few). */
export function distinctMembers(entries: readonly WsPresenceEntry[]): number {
  return new Set(entries.map((e) => e.clientId)).size;
}

export interface LeasePlan {
  releases: LeaseRelease[];
  /** Leases to renew now (every lease the connection holds), or undefined when none are due. */
  renew?: LeaseTouch[];
}

/**
 * What a request does to the connection's leases, from the state it came with (`before`), the state
 * it leaves (`after`, undefined when the connection closed), and the leases it took meanwhile
 * (`touched`: channels and the user they were taken under).
 */
export function planLeases(before: WsSessionState, after: WsSessionState | undefined, touched: ReadonlyArray<{ channel: string; user: string }>, now: number): LeasePlan {
  const kept = after ? leasesOf(after) : [];
  const keptKeys = new Set(kept.map((l) => `${l.connection}\n${l.channel}`));
  const releases = new Map<string, LeaseRelease>();
  const held = [
    ...(before.user ? leasedChannels(before).map((channel) => ({ channel, user: before.user! })) : []),
    ...touched,
  ];
  for (const { channel, user } of held) {
    const key = `${wsConnectionKey(user)}\n${channel}`;
    if (!keptKeys.has(key)) releases.set(key, { channel, connection: wsConnectionKey(user) });
  }
  const due = after !== undefined && kept.length > 0 && (after.leaseAt === undefined || now - after.leaseAt >= RENEW_AFTER_MS);
  return { releases: [...releases.values()], ...(due ? { renew: kept } : {}) };
}
