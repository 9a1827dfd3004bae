// A WebSocket connection's state between WebSocket-over-HTTP requests. The origin keeps none itself:
// it travels in the proxy's connection meta (response `Set-Meta-<name>`, request `Meta-<name>`),
// sealed (wsStateSeal.ts): state whose seal does not verify is never read.
import { randomBytes } from 'node:crypto';
import type { WsStateSeal } from './wsStateSeal.ts';
import { isMessageId, isPresenceClientId, isPresenceInfo, isValidChannelName, type PresenceInfo } from '../../protocol/index.ts';

/** A subscribe in progress (see wsSubscribe.ts): waiting for the pong of its latest barrier. */
export interface PendingSubscribe {
  channel: string;
  since?: string;
  /** The barrier whose pong moves it on: the proxy applied the subscription and wrote what came before. */
  barrier: number;
  /** When it last made progress. */
  startedMs: number;
  /** The last id sent in its catch-up (undefined before the first round). */
  cursor?: string;
  /** More retained messages follow the cursor (the last round was a full one). */
  more: boolean;
  rounds: number;
  /** Pongs in a row that found messages appended since the last round. */
  behind: number;
  /** Whether it holds the channel's appends (gateAppends) until its next pong. */
  gated: boolean;
  /** Its barrier was sent again after no pong came (see recoverStalled in wsSession.ts); once per stall. */
  resent?: boolean;
}

/** What a subscribe token granted a connection on one private channel. */
export interface WsGrant {
  channel: string;
  /** When it ends, seconds since the epoch: the connection is closed then unless a fresh token came. */
  exp: number;
  /** The token also allowed publishing to the channel. */
  publish: boolean;
}

/** A channel on which the connection is in presence, as whom (its subscribe token's `sub` and `info`). */
export interface WsPresenceEntry {
  channel: string;
  clientId: string;
  info?: PresenceInfo;
}

export interface WsSessionState {
  /** The connection's filter user (for the skip-users filter); set at OPEN. */
  user?: string;
  /** Channels whose subscribe completed. */
  subscriptions: string[];
  pending: PendingSubscribe[];
  /** The last barrier number used on this connection. */
  barrier: number;
  /** Token grants of the private channels subscribed (or being subscribed) to. */
  grants: WsGrant[];
  /** Channels (subscribed or pending) on which the connection is in presence; absent: none. */
  presence?: WsPresenceEntry[];
  /** When the connection's presence leases were last renewed (ms); absent: not since it subscribed. */
  leaseAt?: number;
  /** Channels (subscribed or pending) whose member events the connection receives; absent: none. */
  presenceEvents?: string[];
}

/**
 * Connection meta names (Pushpin keeps them per connection and sends them back on every request).
 * Each channel name is written once, in `Chans`; the other values name channels by their index
 * there, so the state stays small: the proxy sends it with every request, beside the client's own
 * headers (cookies included), and a request head over the origin's limit is answered 431 and the
 * connection dropped. See MAX_WS_SUBSCRIPTIONS for the budget.
 */
export const META = {
  user: 'User',
  channels: 'Chans',
  subscriptions: 'Subs',
  pending: 'Pend',
  barrier: 'Barrier',
  grants: 'Grants',
  /** Distinct presence members of the connection: base64url JSON `[clientId, info?]`, comma separated. */
  members: 'Mems',
  /** `<channel index>:<member index>` per channel the connection is in presence on. */
  presence: 'Pres',
  lease: 'Lease',
  /** Channel indexes whose member events the connection holds. */
  presenceEvents: 'PEvents',
  seal: 'Seal',
} as const;

/**
 * The distinct members one connection may be in presence as (usually one: the `sub` of its token).
 * Each is at most 128 characters and 512 bytes of info, written once in the meta.
 */
export const MAX_PRESENCE_MEMBERS_PER_CONNECTION = 2;

/**
 * The most subscriptions a connection may be allowed (WS_MAX_SUBSCRIPTIONS; Fanout's own cap is 20):
 * the state of that many, at their largest (128-character names, all subscribing with a position, a
 * token grant each), fits STATE_HEADER_BUDGET_BYTES. Tested in wsSessionState.test.ts.
 */
export const MAX_WS_SUBSCRIPTIONS = 100;
/**
 * What the state may take of a request head: the proxy sends it with every WebSocket-over-HTTP
 * request beside the client's own headers (cookies included), and the origin answers a head over
 * ORIGIN_MAX_HEADER_BYTES with 431, which makes the proxy drop the connection.
 */
export const STATE_HEADER_BUDGET_BYTES = 32 * 1024;
/** The origin's limit on a request head (Node's default is 16 KiB). */
export const ORIGIN_MAX_HEADER_BYTES = 64 * 1024;

/** The sealed values, in the order the seal covers them. */
const SEALED = [META.user, META.channels, META.subscriptions, META.pending, META.barrier, META.grants] as const;
/**
 * Presence values, sealed after those when any is set: a connection sealed before presence existed
 * (an origin upgraded under it) still verifies, and none of them can be added or dropped unnoticed.
 */
const PRESENCE_SEALED = [META.members, META.presence, META.lease, META.presenceEvents] as const;

function sealedValues(get: (name: string) => string): string[] {
  const values = SEALED.map(get);
  const presence = PRESENCE_SEALED.map(get);
  return presence.some((v) => v !== '') ? [...values, ...presence] : values;
}

/** What seals a connection's state: the origins' seal and the connection it belongs to. */
export interface StateSealing {
  seal: WsStateSeal;
  connectionId: string;
}

export const EMPTY_SESSION_STATE: WsSessionState = { subscriptions: [], pending: [], barrier: 0, grants: [] };

/**
 * `valid`: the meta carried a seal that verifies; `absent`: no meta at all (a connection's first
 * request); `invalid`: meta without a seal, or with one that does not verify (forged, or sealed under
 * another key): the state is empty, and the session must not go on as if it knew the connection.
 */
export type SealStatus = 'valid' | 'absent' | 'invalid';

const USER = /^[A-Za-z0-9]{12}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 12 random letters and digits (71 bits): the skip-users filter compares them, so they must not collide. */
export function newFilterUser(): string {
  let user = '';
  for (const byte of randomBytes(24)) {
    if (byte < 248) user += ALPHABET[byte % 62];
    if (user.length === 12) return user;
  }
  return newFilterUser();
}

const COUNT = /^\d{1,9}$/;
const FLAG = /^[01]$/;
const EXP = /^\d{1,12}$/;

/** A channel of the connection's list, by its index there. */
type ChannelAt = (index: string | undefined) => string | undefined;

function parsePending(raw: string | undefined, channelAt: ChannelAt): PendingSubscribe[] {
  if (!raw) return [];
  const pending: PendingSubscribe[] = [];
  for (const entry of raw.split(',')) {
    const [index, since, barrier, started, cursor, more, rounds, behind, gated, resent = '0'] = entry.split(':');
    const channel = channelAt(index);
    if (!channel || !COUNT.test(barrier ?? '') || !/^\d{1,15}$/.test(started ?? '')) continue;
    if ((since && !isMessageId(since)) || (cursor && !isMessageId(cursor)) || !COUNT.test(rounds ?? '') || !COUNT.test(behind ?? '')) {
      continue;
    }
    if (!FLAG.test(gated ?? '') || !FLAG.test(more ?? '') || !FLAG.test(resent)) continue;
    if (pending.some((p) => p.channel === channel)) continue;
    pending.push({
      channel,
      ...(since ? { since } : {}),
      barrier: Number(barrier),
      startedMs: Number(started),
      ...(cursor ? { cursor } : {}),
      more: more === '1',
      rounds: Number(rounds),
      behind: Number(behind),
      gated: gated === '1',
      ...(resent === '1' ? { resent: true } : {}),
    });
  }
  return pending;
}

function parseGrants(raw: string | undefined, channelAt: ChannelAt): WsGrant[] {
  const grants: WsGrant[] = [];
  for (const entry of (raw ?? '').split(',')) {
    const [index, exp, publish] = entry.split(':');
    const channel = channelAt(index);
    if (!channel || !EXP.test(exp ?? '') || !FLAG.test(publish ?? '')) continue;
    if (grants.some((g) => g.channel === channel)) continue;
    grants.push({ channel, exp: Number(exp), publish: publish === '1' });
  }
  return grants;
}

/**
 * Reads the state from request headers (lower-case names, as Express's req.get takes) once its seal
 * verifies; anything malformed in sealed state is dropped all the same.
 */
export function readSessionState(
  getHeader: (header: string) => string | undefined,
  sealing: StateSealing,
): { state: WsSessionState; seal: SealStatus } {
  const get = (name: string): string | undefined => getHeader(`meta-${name}`.toLowerCase());
  const values = sealedValues((name) => get(name) ?? '');
  const seal = get(META.seal);
  if (seal === undefined) {
    return { state: EMPTY_SESSION_STATE, seal: values.every((v) => v === '') ? 'absent' : 'invalid' };
  }
  if (!sealing.seal.verify(sealing.connectionId, values, seal)) return { state: EMPTY_SESSION_STATE, seal: 'invalid' };
  return { state: parseSessionState(get), seal: 'valid' };
}

function parseMembers(raw: string | undefined): Array<{ clientId: string; info?: PresenceInfo } | undefined> {
  if (!raw) return [];
  return raw.split(',').map((encoded) => {
    try {
      const value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as unknown;
      if (!Array.isArray(value) || !isPresenceClientId(value[0]) || (value[1] !== undefined && !isPresenceInfo(value[1]))) return undefined;
      return { clientId: value[0], ...(value[1] !== undefined ? { info: value[1] as PresenceInfo } : {}) };
    } catch {
      return undefined;
    }
  });
}

function parsePresence(raw: string | undefined, channelAt: ChannelAt, membersRaw: string | undefined): WsPresenceEntry[] {
  if (!raw) return [];
  const members = parseMembers(membersRaw);
  const entries: WsPresenceEntry[] = [];
  for (const entry of raw.split(',')) {
    const [index, member] = entry.split(':');
    const channel = channelAt(index);
    const who = member !== undefined && /^\d{1,2}$/.test(member) ? members[Number(member)] : undefined;
    if (!channel || !who || entries.some((e) => e.channel === channel)) continue;
    entries.push({ channel, ...who });
  }
  return entries;
}

function parseSessionState(get: (name: string) => string | undefined): WsSessionState {
  const user = get(META.user);
  const barrier = get(META.barrier);
  const names = (get(META.channels) ?? '').split(',');
  const channelAt: ChannelAt = (index) => {
    if (index === undefined || !/^\d{1,4}$/.test(index)) return undefined;
    const name = names[Number(index)];
    return name !== undefined && isValidChannelName(name) ? name : undefined;
  };
  const subscriptions = [...new Set((get(META.subscriptions) ?? '').split(',').map(channelAt).filter((c): c is string => c !== undefined))];
  const presence = parsePresence(get(META.presence), channelAt, get(META.members));
  const leaseAt = get(META.lease);
  const presenceEvents = [...new Set((get(META.presenceEvents) ?? '').split(',').map(channelAt).filter((c): c is string => c !== undefined))];
  return {
    ...(user && USER.test(user) ? { user } : {}),
    subscriptions,
    pending: parsePending(get(META.pending), channelAt),
    barrier: barrier && COUNT.test(barrier) ? Number(barrier) : 0,
    grants: parseGrants(get(META.grants), channelAt),
    ...(presence.length > 0 ? { presence } : {}),
    ...(leaseAt && /^\d{1,15}$/.test(leaseAt) && Number(leaseAt) > 0 ? { leaseAt: Number(leaseAt) } : {}),
    ...(presenceEvents.length > 0 ? { presenceEvents } : {}),
  };
}

/** A member as the meta writes it (the same member is written once however many channels it is on). */
function memberKey(entry: WsPresenceEntry): string {
  return Buffer.from(JSON.stringify(entry.info === undefined ? [entry.clientId] : [entry.clientId, entry.info])).toString('base64url');
}

/** The response headers that store the state, sealed, in the proxy's connection meta. */
export function sessionStateHeaders(state: WsSessionState, sealing: StateSealing): Record<string, string> {
  const presence = state.presence ?? [];
  const channels = [
    ...new Set([
      ...state.subscriptions,
      ...state.pending.map((p) => p.channel),
      ...state.grants.map((g) => g.channel),
      ...presence.map((e) => e.channel),
      ...(state.presenceEvents ?? []),
    ]),
  ];
  const index = new Map(channels.map((c, i) => [c, i]));
  const at = (channel: string) => index.get(channel)!;
  const members = [...new Set(presence.map(memberKey))];
  const values: Record<(typeof SEALED)[number] | (typeof PRESENCE_SEALED)[number], string> = {
    [META.user]: state.user ?? '',
    [META.channels]: channels.join(','),
    [META.subscriptions]: state.subscriptions.map(at).join(','),
    [META.pending]: state.pending
      .map((p) => [at(p.channel), p.since ?? '', p.barrier, p.startedMs, p.cursor ?? '', p.more ? 1 : 0, p.rounds, p.behind, p.gated ? 1 : 0, p.resent ? 1 : 0].join(':'))
      .join(','),
    [META.barrier]: String(state.barrier),
    [META.grants]: state.grants.map((g) => `${at(g.channel)}:${g.exp}:${g.publish ? 1 : 0}`).join(','),
    [META.members]: members.join(','),
    [META.presence]: presence.map((e) => `${at(e.channel)}:${members.indexOf(memberKey(e))}`).join(','),
    [META.lease]: state.leaseAt ? String(state.leaseAt) : '',
    [META.presenceEvents]: (state.presenceEvents ?? []).map(at).join(','),
  };
  const headers: Record<string, string> = {};
  for (const name of [...SEALED, ...PRESENCE_SEALED]) headers[`Set-Meta-${name}`] = values[name];
  headers[`Set-Meta-${META.seal}`] = sealing.seal.sign(sealing.connectionId, sealedValues((name) => values[name as keyof typeof values]));
  return headers;
}
