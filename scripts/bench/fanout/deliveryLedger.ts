// What one subscriber received, by message id: the first arrival of an id is a delivery (its latency
// recorded), any later one a duplicate. At the end, the ids the publisher was told were stored are
// the ones every subscriber must have: the rest are lost. Ids the publisher never sent (a message
// from before the run, say) count as neither.
import { emptyHistogram, record, type LatencyHistogram } from './latencyHistogram.ts';

export interface DeliveryLedger {
  /** Ids seen so far. */
  readonly seen: Set<string>;
  duplicates: number;
  /** The last id received: where this subscriber resumes from after a reconnect. */
  lastId: string | undefined;
}

export function newLedger(since?: string): DeliveryLedger {
  return { seen: new Set(), duplicates: 0, lastId: since };
}

/** Totals across many subscribers of one load process. */
export interface DeliveryTally {
  latency: LatencyHistogram;
  /** Wall-clock ms of the first and last delivery (not duplicates). */
  firstAt: number;
  lastAt: number;
}

export function newTally(): DeliveryTally {
  return { latency: emptyHistogram(), firstAt: Infinity, lastAt: -Infinity };
}

/**
 * One message arrived. `sentAt` is the publisher's wall clock when it sent it (carried in the data),
 * `now` this process's: both read the same system clock.
 */
export function arrived(ledger: DeliveryLedger, tally: DeliveryTally, id: string, sentAt: number, now: number): void {
  if (ledger.seen.has(id)) {
    ledger.duplicates++;
    return;
  }
  ledger.seen.add(id);
  ledger.lastId = id;
  record(tally.latency, now - sentAt);
  if (now < tally.firstAt) tally.firstAt = now;
  if (now > tally.lastAt) tally.lastAt = now;
}

export interface LedgerCount {
  received: number;
  lost: number;
  duplicates: number;
  /** Subscribers that missed at least one message. */
  subscribersWithLoss: number;
}

export function countAgainst(ledgers: Iterable<DeliveryLedger>, published: readonly string[]): LedgerCount {
  const count: LedgerCount = { received: 0, lost: 0, duplicates: 0, subscribersWithLoss: 0 };
  for (const ledger of ledgers) {
    let got = 0;
    for (const id of published) if (ledger.seen.has(id)) got++;
    count.received += got;
    count.lost += published.length - got;
    count.duplicates += ledger.duplicates;
    if (got < published.length) count.subscribersWithLoss++;
  }
  return count;
}
