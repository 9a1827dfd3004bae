// What the resuming clients got against what they should have got: per transport, messages delivered,
// lost (expected but never received), duplicated (received again) and unexpected (received but
// neither acknowledged to a publisher nor in the history). The expected ids of a channel are every id a
// publish was answered with plus every id the history holds at the end: a message stored whose
// answer was lost (an origin stopped mid-request) must reach the clients too.
import { TRANSPORT_NAMES, type ResumingClient, type TransportName } from './resumingClients.ts';

export interface TransportTally {
  transport: TransportName;
  clients: number;
  /** Sum over the clients of the messages each should have. */
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  unexpected: number;
  resets: number;
  reconnects: number;
  /** Connections dropped by the client because messages stopped while the channel went on (a stranded session). */
  unstuck: number;
}

/** Every id after `since` that a client starting there must get, per channel. */
export type ExpectedIds = Map<string, ReadonlySet<number>>;

export function tallyDeliveries(clients: readonly ResumingClient[], expected: ExpectedIds): TransportTally[] {
  return TRANSPORT_NAMES.map((transport) => {
    const tally: TransportTally = { transport, clients: 0, expected: 0, delivered: 0, lost: 0, duplicated: 0, unexpected: 0, resets: 0, reconnects: 0, unstuck: 0 };
    for (const client of clients) {
      if (client.transport !== transport) continue;
      const want = expected.get(client.channel) ?? new Set<number>();
      tally.clients++;
      tally.expected += want.size;
      let got = 0;
      for (const id of client.ids) {
        if (want.has(id)) got++;
        else tally.unexpected++;
      }
      tally.delivered += got;
      tally.lost += want.size - got;
      tally.duplicated += client.duplicates;
      tally.resets += client.resets;
      tally.reconnects += client.reconnects;
      tally.unstuck += client.unstuck;
    }
    return tally;
  }).filter((t) => t.clients > 0);
}

/** Whether every client has every expected id (duplicates or not). */
export function everyoneHasEverything(clients: readonly ResumingClient[], expected: ExpectedIds): boolean {
  return clients.every((client) => {
    const want = expected.get(client.channel);
    if (!want) return true;
    if (client.ids.size < want.size) return false;
    for (const id of want) if (!client.ids.has(id)) return false;
    return true;
  });
}

/**
 * Waits until every client has everything (or `timeoutMs`), then `settleMs` more so that late
 * duplicates are counted too.
 */
export async function waitForDeliveries(
  clients: readonly ResumingClient[],
  expected: ExpectedIds,
  options: { timeoutMs: number; settleMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (!everyoneHasEverything(clients, expected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, options.settleMs ?? 500));
}

/** One line for a case: every transport's figures. */
export function formatTally(caseName: string, tallies: readonly TransportTally[]): string {
  const parts = tallies.map(
    (t) =>
      `${t.transport} ${t.clients} clients: delivered ${t.delivered}/${t.expected}, lost ${t.lost}, duplicated ${t.duplicated}` +
      `${t.unexpected ? `, unexpected ${t.unexpected}` : ''}, reconnects ${t.reconnects}${t.unstuck ? ` (${t.unstuck} after its messages stopped or skipped)` : ''}${t.resets ? `, resets ${t.resets}` : ''}`,
  );
  return `[fault] ${caseName} | ${parts.join(' | ')}`;
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
