// Presence and occupancy on the wire: the member events subscribers can ask for (a WebSocket frame, an
// SSE event, an NDJSON status line, one shape everywhere), the lease API streams and long-polls use to
// be counted (PUT/DELETE /api/channels/:channel/presence/leases/:leaseId), and the presence snapshot
// (GET /api/channels/:channel/presence). Pure, so the origin and every client share one definition.
import { isValidChannelName } from './channelNames.ts';
import { isTransportName, type TransportName } from './transports.ts';
import { utf8ByteLength } from './utf8.ts';

/** A member's id is its subscribe token's `sub`: 1-128 characters. */
export const PRESENCE_CLIENT_ID_MAX_LENGTH = 128;
/** A member's `info` (the subscribe token's `info` claim) is a JSON object of at most this many bytes. */
export const PRESENCE_INFO_MAX_BYTES = 512;
/** The subscribe token claim that carries a member's info. */
export const PRESENCE_INFO_CLAIM = 'info';
/** The query parameter (SSE, NDJSON) that asks for member events: `?presence=1`. */
export const PRESENCE_EVENTS_QUERY_PARAM = 'presence';

export type PresenceInfo = Record<string, unknown>;

export type PresenceAction = 'member_joined' | 'member_left';

/** A member entered or left a channel's presence (its first connection came, its last one went). */
export interface PresenceEvent {
  action: PresenceAction;
  channel: string;
  clientId: string;
  info?: PresenceInfo;
  /** Milliseconds since the epoch, when the origin saw it happen. */
  ts: number;
}

export function isPresenceClientId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= PRESENCE_CLIENT_ID_MAX_LENGTH;
}

/** A plain JSON object of at most PRESENCE_INFO_MAX_BYTES once serialised. */
export function isPresenceInfo(value: unknown): value is PresenceInfo {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    return false;
  }
  return json.length <= PRESENCE_INFO_MAX_BYTES && utf8ByteLength(json) <= PRESENCE_INFO_MAX_BYTES;
}

/** The event's fields in their order (what every framing carries after its own marker). */
function eventFields(event: PresenceEvent): string {
  const info = event.info === undefined ? '' : `,"info":${JSON.stringify(event.info)}`;
  return `"action":"${event.action}","channel":${JSON.stringify(event.channel)},"clientId":${JSON.stringify(event.clientId)}${info},"ts":${event.ts}`;
}

/** The event as a WebSocket frame and an NDJSON status line (without its newline): `{"type":"presence",...}`. */
export function presenceJson(event: PresenceEvent): string {
  return `{"type":"presence",${eventFields(event)}}`;
}

/** The data of an SSE `event: presence` block. */
export function presenceEventData(event: PresenceEvent): string {
  return `{${eventFields(event)}}`;
}

/** Reads an event from a parsed frame, line or SSE data (`type` may be there or not). */
export function presenceEventOf(value: unknown): PresenceEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.action !== 'member_joined' && v.action !== 'member_left') return undefined;
  if (!isValidChannelName(v.channel) || !isPresenceClientId(v.clientId)) return undefined;
  if (typeof v.ts !== 'number' || !Number.isFinite(v.ts)) return undefined;
  if (v.info !== undefined && (typeof v.info !== 'object' || v.info === null || Array.isArray(v.info))) return undefined;
  return {
    action: v.action,
    channel: v.channel,
    clientId: v.clientId,
    ...(v.info !== undefined ? { info: v.info as PresenceInfo } : {}),
    ts: v.ts,
  };
}

// --- The lease API (streams and long-polls are counted through it) ---

/** A lease id: the client's own random id, 16-64 letters, digits, '_' and '-'. */
const LEASE_ID = /^[A-Za-z0-9_-]{16,64}$/;

export function isLeaseId(value: unknown): value is string {
  return typeof value === 'string' && LEASE_ID.test(value);
}

export function presencePath(channel: string): string {
  return `/api/channels/${encodeURIComponent(channel)}/presence`;
}

export function presenceLeasePath(channel: string, leaseId: string): string {
  return `${presencePath(channel)}/leases/${encodeURIComponent(leaseId)}`;
}

/** The body of a lease PUT: the transport the subscription is on, and whether it enters as a member. */
export interface LeaseRequest {
  transport: Exclude<TransportName, 'websocket'>;
  presence?: boolean;
}

export function parseLeaseRequest(value: unknown): LeaseRequest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body must be a JSON object with "transport"';
  const v = value as Record<string, unknown>;
  if (!isTransportName(v.transport) || v.transport === 'websocket') return '"transport" must be "sse", "stream" or "poll" (a WebSocket is counted by its own connection)';
  if (v.presence !== undefined && typeof v.presence !== 'boolean') return '"presence" must be true or false';
  return { transport: v.transport, ...(v.presence ? { presence: true } : {}) };
}

/** The answer to a lease PUT: renew it after `renewInMs`; it lapses `expiresInMs` after this answer. */
export interface LeaseAnswer {
  channel: string;
  leaseId: string;
  expiresInMs: number;
  renewInMs: number;
}

export function parseLeaseAnswer(value: unknown): LeaseAnswer | string {
  if (typeof value !== 'object' || value === null) return 'the answer is not a JSON object';
  const v = value as Record<string, unknown>;
  if (!isValidChannelName(v.channel) || !isLeaseId(v.leaseId)) return 'the answer has no channel and leaseId';
  if (typeof v.expiresInMs !== 'number' || typeof v.renewInMs !== 'number' || !(v.renewInMs > 0) || !(v.expiresInMs >= v.renewInMs)) {
    return 'the answer has no usable expiresInMs and renewInMs';
  }
  return { channel: v.channel, leaseId: v.leaseId, expiresInMs: v.expiresInMs, renewInMs: v.renewInMs };
}

// --- The presence snapshot (GET /api/channels/:channel/presence) ---

export type TransportCounts = Record<TransportName, number>;

export interface Occupancy {
  /** Connections counted on the channel: every WebSocket subscription, and every stream or long-poll lease. */
  connections: number;
  /** Distinct members (presence entries by clientId). */
  members: number;
  byTransport: TransportCounts;
}

export interface PresenceMember {
  clientId: string;
  info?: PresenceInfo;
  /** How many of the member's connections are on the channel. */
  connections: number;
}

export interface PresenceSnapshot {
  channel: string;
  occupancy: Occupancy;
  /** Members in the order of their clientIds' UTF-8 bytes, one page. */
  members: PresenceMember[];
  /** The `after` of the next page, when there are more members. */
  next?: string;
}

export const PRESENCE_PAGE_DEFAULT = 100;
export const PRESENCE_PAGE_MAX = 1000;

export function emptyTransportCounts(): TransportCounts {
  return { websocket: 0, sse: 0, stream: 0, poll: 0 };
}

export function parsePresenceSnapshot(value: unknown): PresenceSnapshot | string {
  if (typeof value !== 'object' || value === null) return 'the answer is not a JSON object';
  const v = value as Record<string, unknown>;
  if (!isValidChannelName(v.channel)) return '"channel" is not a channel name';
  const o = v.occupancy as Record<string, unknown> | undefined;
  if (typeof o !== 'object' || o === null || typeof o.connections !== 'number' || typeof o.members !== 'number') return '"occupancy" is malformed';
  const by = o.byTransport as Record<string, unknown> | undefined;
  if (typeof by !== 'object' || by === null || !Object.values(by).every((n) => typeof n === 'number')) return '"occupancy.byTransport" is malformed';
  if (!Array.isArray(v.members)) return '"members" is not a list';
  const members: PresenceMember[] = [];
  for (const m of v.members as unknown[]) {
    const r = m as Record<string, unknown>;
    if (typeof m !== 'object' || m === null || !isPresenceClientId(r.clientId) || typeof r.connections !== 'number') return 'a member is malformed';
    members.push({ clientId: r.clientId, ...(r.info !== undefined ? { info: r.info as PresenceInfo } : {}), connections: r.connections });
  }
  return {
    channel: v.channel,
    occupancy: { connections: o.connections, members: o.members, byTransport: { ...emptyTransportCounts(), ...(by as Partial<TransportCounts>) } },
    members,
    ...(typeof v.next === 'string' ? { next: v.next } : {}),
  };
}
