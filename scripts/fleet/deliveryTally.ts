// What a fleet's members handed on against what they should have: per transport, messages delivered,
// lost (expected but never handed on), duplicated (handed on twice, or out of order: a client bug),
// unexpected (neither acknowledged to a publisher nor in the history), and the clients' own counters
// (duplicates the proxy sent that the client dropped, resets, reconnects, recoveries by reason). The
// expected ids of a channel are every id a publish was answered with plus every id the history holds
// at the end: a message stored whose answer was lost (an origin stopped mid-request) must arrive too.
import type { RecoveryReason, TransportName } from '../../client/index.ts';
import { TRANSPORT_NAMES } from '../../protocol/index.ts';
import type { FleetMember } from './fleet.ts';

/** What a tally reads of a member. */
export type TalliedMember = Pick<FleetMember, 'transport' | 'channel' | 'ids' | 'repeated' | 'outOfOrder' | 'stats' | 'position' | 'live' | 'history'>;

export interface TransportTally {
  transport: TransportName;
  clients: number;
  /** Sum over the clients of the messages each should have. */
  expected: number;
  delivered: number;
  lost: number;
  /** Ids handed on to the application a second time: must be 0. */
  duplicated: number;
  /** Ids handed on below one handed on before: must be 0. */
  outOfOrder: number;
  unexpected: number;
  /** Duplicates the proxy sent and the clients dropped (their `stats.duplicates`). */
  duplicatesDropped: number;
  resets: number;
  reconnects: number;
  connectFailures: number;
  /** Why the clients connected again, summed. */
  recoveries: Partial<Record<RecoveryReason, number>>;
}

/** Every id after `since` that a client starting there must get, per channel. */
export type ExpectedIds = Map<string, ReadonlySet<number>>;

function sortedByChannel(expected: ExpectedIds): Map<string, number[]> {
  return new Map([...expected].map(([channel, ids]) => [channel, [...ids].sort((a, b) => a - b)]));
}

/** A transport's tally before any client is counted. */
export function emptyTally(transport: TransportName): TransportTally {
  return {
    transport,
    clients: 0,
    expected: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    unexpected: 0,
    duplicatesDropped: 0,
    resets: 0,
    reconnects: 0,
    connectFailures: 0,
    recoveries: {},
  };
}

export function tallyDeliveries(members: readonly TalliedMember[], expected: ExpectedIds): TransportTally[] {
  const sorted = sortedByChannel(expected);
  return TRANSPORT_NAMES.map((transport) => {
    const tally = emptyTally(transport);
    for (const member of members) {
      if (member.transport !== transport) continue;
      const want = sorted.get(member.channel) ?? [];
      const got = member.ids.countIn(want);
      tally.clients++;
      tally.expected += want.length;
      tally.delivered += got;
      tally.lost += want.length - got;
      tally.unexpected += member.ids.size - got;
      tally.duplicated += member.repeated;
      tally.outOfOrder += member.outOfOrder;
      const { stats } = member;
      tally.duplicatesDropped += stats.duplicates;
      tally.resets += stats.resets;
      tally.reconnects += stats.reconnects;
      tally.connectFailures += stats.connectFailures;
      for (const [reason, n] of Object.entries(stats.recoveries) as Array<[RecoveryReason, number]>) tally.recoveries[reason] = (tally.recoveries[reason] ?? 0) + n;
    }
    return tally;
  }).filter((t) => t.clients > 0);
}

/** Whether a tally shows anything lost, doubled, out of order or unexpected. */
export function tallyFailed(t: TransportTally): boolean {
  return t.lost > 0 || t.duplicated > 0 || t.outOfOrder > 0 || t.unexpected > 0;
}

/** Whether every member has every expected id of its channel. */
export function everyoneHasEverything(members: readonly TalliedMember[], expected: ExpectedIds): boolean {
  return everyoneHas(members, sortedByChannel(expected));
}

function everyoneHas(members: readonly TalliedMember[], sorted: Map<string, number[]>): boolean {
  return members.every((member) => {
    const want = sorted.get(member.channel);
    return !want || (member.ids.size >= want.length && member.ids.countIn(want) === want.length);
  });
}

/**
 * Waits until every member has everything (or `timeoutMs`), then `settleMs` more so that whatever
 * arrives late (a repeat, say) is counted too.
 */
export async function waitForDeliveries(
  members: readonly TalliedMember[],
  expected: ExpectedIds,
  options: { timeoutMs: number; settleMs?: number },
): Promise<void> {
  const sorted = sortedByChannel(expected);
  const deadline = Date.now() + options.timeoutMs;
  while (!everyoneHas(members, sorted) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, options.settleMs ?? 500));
}

/** `gap 3, cut 120`: most first. */
function recoveriesText(recoveries: TransportTally['recoveries']): string {
  return (Object.entries(recoveries) as Array<[string, number]>)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
}

/** One line for a case: every transport's figures, tagged `[fault]` (or `[soak]`, ...). */
export function formatTally(caseName: string, tallies: readonly TransportTally[], tag = 'fault'): string {
  const parts = tallies.map((t) => {
    const recoveries = recoveriesText(t.recoveries);
    return (
      `${t.transport} ${t.clients} clients: delivered ${t.delivered}/${t.expected}, lost ${t.lost}, duplicated ${t.duplicated}` +
      `${t.outOfOrder ? `, out of order ${t.outOfOrder}` : ''}${t.unexpected ? `, unexpected ${t.unexpected}` : ''}, duplicates dropped ${t.duplicatesDropped}, ` +
      `reconnects ${t.reconnects}${recoveries ? ` (recoveries: ${recoveries})` : ''}${t.resets ? `, resets ${t.resets}` : ''}`
    );
  });
  return `[${tag}] ${caseName} | ${parts.join(' | ')}`;
}

/**
 * Which ids were missed, by how many members of each transport, and the positions and recent history
 * of a few that missed or doubled something: the first thing to look at when a case fails.
 */
export function describeMisses(members: readonly TalliedMember[], expected: ExpectedIds, most = 3): string {
  const sorted = sortedByChannel(expected);
  const lines: string[] = [];
  for (const [channel, ids] of sorted) lines.push(`${channel}: expected ${ids.length} ids, ${ids[0]}..${ids.at(-1)}`);
  for (const transport of TRANSPORT_NAMES) {
    const missedBy = new Map<number, number>();
    const bad: Array<{ member: TalliedMember; missing: number[] }> = [];
    for (const member of members) {
      if (member.transport !== transport) continue;
      const missing = member.ids.missingFrom(sorted.get(member.channel) ?? []);
      for (const id of missing) missedBy.set(id, (missedBy.get(id) ?? 0) + 1);
      if (missing.length > 0 || member.repeated > 0 || member.outOfOrder > 0) bad.push({ member, missing });
    }
    if (bad.length === 0) continue;
    const list = [...missedBy].sort((a, b) => a[0] - b[0]).slice(0, 40).map(([id, n]) => `${id}x${n}`);
    lines.push(`${transport}: ${bad.length} member(s) missed or doubled something; missed (id x members): ${list.join(' ') || 'none'}`);
    for (const { member, missing } of bad.slice(0, most)) {
      lines.push(
        `  on ${member.channel}: missing ${missing.length}${missing.length ? ` (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` ... ${missing.at(-1)}` : ''})` : ''}, ` +
          `handed on twice ${member.repeated}, out of order ${member.outOfOrder}, holds ${member.ids.describe()}, at ${member.position}, ${member.live ? 'live' : 'not live'}; ` +
          `stats ${JSON.stringify(member.stats)}; ${member.history.join(' | ')}`,
      );
    }
  }
  return lines.join('\n');
}

/** Every id the origin's history holds for a channel, paging through GET /api/channels/:channel/messages. */
export async function historyIds(originUrl: string, channel: string): Promise<number[]> {
  const ids: number[] = [];
  let since = '0';
  for (let page = 0; page < 10_000; page++) {
    const response = await fetch(`${originUrl}/api/channels/${encodeURIComponent(channel)}/messages?since=${since}&limit=1000`);
    if (!response.ok) throw new Error(`history of ${channel}: HTTP ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { messages: Array<{ id: string }>; next?: string };
    ids.push(...body.messages.map((m) => Number(m.id)));
    if (body.next === undefined) return ids;
    since = body.next;
  }
  throw new Error(`history of ${channel}: too many pages`);
}
