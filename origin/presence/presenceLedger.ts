// One channel's presence as data, and its transitions: take or renew a lease, end one, claim the
// expired ones. Pure (the time is given), so the rules live once: the in-memory store keeps one ledger
// per channel, and the Redis store's Lua scripts (redisPresenceScripts.ts) follow the same rules, which
// the contract test holds both to. Changes are appended to `out` in the order a listener should see
// them: channel_occupied before member_added, member_removed before channel_vacated.
import { emptyTransportCounts, type PresenceInfo, type PresenceMember, type TransportCounts, type TransportName } from '../../protocol/index.ts';
import type { LeaseMember, LeaveReason, PresenceChange } from './presenceStore.ts';

export interface LedgerConnection {
  transport: TransportName;
  clientId?: string;
  /** When the lease lapses (ms). */
  expiresAt: number;
}

export interface LedgerMember {
  info?: PresenceInfo;
  /** The member's connections on the channel (at least 1 while it is listed). */
  connections: number;
}

export interface ChannelLedger {
  readonly channel: string;
  readonly connections: Map<string, LedgerConnection>;
  readonly members: Map<string, LedgerMember>;
  readonly byTransport: TransportCounts;
  /** No lease of this channel lapses before this (ms); a lower bound, Infinity when empty. */
  earliestExpiry: number;
}

export function createLedger(channel: string): ChannelLedger {
  return { channel, connections: new Map(), members: new Map(), byTransport: emptyTransportCounts(), earliestExpiry: Infinity };
}

function addMember(ledger: ChannelLedger, member: LeaseMember, now: number, out: PresenceChange[]): void {
  const existing = ledger.members.get(member.clientId);
  if (existing) {
    existing.connections++;
    // The latest entry's info stands for the member.
    if (member.info !== undefined) existing.info = member.info;
    else delete existing.info;
    return;
  }
  ledger.members.set(member.clientId, { ...(member.info !== undefined ? { info: member.info } : {}), connections: 1 });
  out.push({ type: 'member_added', channel: ledger.channel, clientId: member.clientId, ...(member.info !== undefined ? { info: member.info } : {}), ts: now });
}

function dropMember(ledger: ChannelLedger, clientId: string, reason: LeaveReason, now: number, out: PresenceChange[]): void {
  const member = ledger.members.get(clientId);
  if (!member) return;
  if (--member.connections > 0) return;
  ledger.members.delete(clientId);
  out.push({ type: 'member_removed', channel: ledger.channel, clientId, ...(member.info !== undefined ? { info: member.info } : {}), reason, ts: now });
}

export type TouchResult = 'ok' | 'full';

/** Takes or renews the lease of `connection` until `expiresAt`. */
export function touchLease(
  ledger: ChannelLedger,
  connection: string,
  transport: TransportName,
  member: LeaseMember | undefined,
  expiresAt: number,
  now: number,
  maxConnections: number,
  out: PresenceChange[],
): TouchResult {
  const existing = ledger.connections.get(connection);
  if (!existing) {
    if (ledger.connections.size >= maxConnections) return 'full';
    if (ledger.connections.size === 0) out.push({ type: 'channel_occupied', channel: ledger.channel, ts: now });
    ledger.connections.set(connection, { transport, ...(member ? { clientId: member.clientId } : {}), expiresAt });
    ledger.byTransport[transport]++;
    if (member) addMember(ledger, member, now, out);
    if (expiresAt < ledger.earliestExpiry) ledger.earliestExpiry = expiresAt;
    return 'ok';
  }
  if (existing.transport !== transport) {
    ledger.byTransport[existing.transport]--;
    ledger.byTransport[transport]++;
    existing.transport = transport;
  }
  if (existing.clientId !== member?.clientId) {
    // Leaving one membership for another: the new one is added first, so a member that only moves
    // between connections is never announced as gone.
    const previous = existing.clientId;
    if (member) addMember(ledger, member, now, out);
    if (member) existing.clientId = member.clientId;
    else delete existing.clientId;
    if (previous !== undefined) dropMember(ledger, previous, 'left', now, out);
  } else if (member) {
    const entry = ledger.members.get(member.clientId)!;
    if (member.info !== undefined) entry.info = member.info;
    else delete entry.info;
  }
  existing.expiresAt = expiresAt;
  if (expiresAt < ledger.earliestExpiry) ledger.earliestExpiry = expiresAt;
  return 'ok';
}

function removeConnection(ledger: ChannelLedger, connection: string, reason: LeaveReason, now: number, out: PresenceChange[]): boolean {
  const existing = ledger.connections.get(connection);
  if (!existing) return false;
  ledger.connections.delete(connection);
  ledger.byTransport[existing.transport]--;
  if (existing.clientId !== undefined) dropMember(ledger, existing.clientId, reason, now, out);
  return true;
}

function noteEmpty(ledger: ChannelLedger, reason: LeaveReason, now: number, out: PresenceChange[]): void {
  if (ledger.connections.size > 0) return;
  ledger.earliestExpiry = Infinity;
  out.push({ type: 'channel_vacated', channel: ledger.channel, reason, ts: now });
}

/** Ends the lease of `connection`; nothing when it holds none. */
export function releaseLease(ledger: ChannelLedger, connection: string, now: number, out: PresenceChange[]): void {
  if (removeConnection(ledger, connection, 'left', now, out)) noteEmpty(ledger, 'left', now, out);
}

/** Claims every lease that lapsed at or before `now`. */
export function expireLeases(ledger: ChannelLedger, now: number, out: PresenceChange[]): void {
  if (ledger.earliestExpiry > now) return;
  let removed = false;
  let earliest = Infinity;
  for (const [connection, entry] of [...ledger.connections]) {
    if (entry.expiresAt <= now) removed = removeConnection(ledger, connection, 'expired', now, out) || removed;
    else if (entry.expiresAt < earliest) earliest = entry.expiresAt;
  }
  ledger.earliestExpiry = earliest;
  if (removed) noteEmpty(ledger, 'expired', now, out);
}

/** Orders member ids by their UTF-8 bytes (as Redis orders a sorted set's members by lex). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A page of members after `after`, at most `limit`, and the `after` of the next page when more follow. */
export function memberPage(ledger: ChannelLedger, after: string | undefined, limit: number): { members: PresenceMember[]; next?: string } {
  const afterBytes = after === undefined ? undefined : Buffer.from(after, 'utf8');
  const keyed: Array<[Buffer, string]> = [];
  for (const clientId of ledger.members.keys()) {
    const bytes = Buffer.from(clientId, 'utf8');
    if (afterBytes === undefined || Buffer.compare(bytes, afterBytes) > 0) keyed.push([bytes, clientId]);
  }
  keyed.sort((x, y) => Buffer.compare(x[0], y[0]));
  const page = keyed.slice(0, limit).map(([, clientId]) => {
    const m = ledger.members.get(clientId)!;
    return { clientId, ...(m.info !== undefined ? { info: m.info } : {}), connections: m.connections };
  });
  return keyed.length > limit ? { members: page, next: page.at(-1)!.clientId } : { members: page };
}
