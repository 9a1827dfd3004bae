// What the benchmark's subscribers received. Per load process, a tally of every delivery's latency
// (publish -> handed to the application) and the first and last delivery's time. Per Socket.IO
// subscriber, a ledger of the ids it received: the first arrival of an id is a delivery, any later one
// a duplicate (our stack's subscribers are fanout-forward clients, counted by the fleet's id runs:
// clientSubscribers.ts). At the end, the ids the publisher was told were stored are the ones every
// subscriber must have: the rest are lost. Ids the publisher never sent (a message from before the
// run, say) count as neither.
import { emptyHistogram, record, type LatencyHistogram } from './latencyHistogram.ts';

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
 * One message handed to the application for the first time. `sentAt` is the publisher's wall clock
 * when it sent it (carried in the data), `now` this process's: both read the same system clock.
 */
export function recordDelivery(tally: DeliveryTally, sentAt: number, now: number): void {
  record(tally.latency, now - sentAt);
  if (now < tally.firstAt) tally.firstAt = now;
  if (now > tally.lastAt) tally.lastAt = now;
}

/** The ids one Socket.IO subscriber received. */
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

/** One message arrived at a Socket.IO subscriber: a delivery the first time, else a duplicate. */
export function arrived(ledger: DeliveryLedger, tally: DeliveryTally, id: string, sentAt: number, now: number): void {
  if (ledger.seen.has(id)) {
    ledger.duplicates++;
    return;
  }
  ledger.seen.add(id);
  ledger.lastId = id;
  recordDelivery(tally, sentAt, now);
}

export interface LedgerCount {
  received: number;
  lost: number;
  /** Ids handed on a second time. */
  duplicates: number;
  /** Ids handed on below one handed on before (only our clients' order is checked). */
  outOfOrder: number;
  /** Subscribers that missed at least one message. */
  subscribersWithLoss: number;
}

export function emptyCount(): LedgerCount {
  return { received: 0, lost: 0, duplicates: 0, outOfOrder: 0, subscribersWithLoss: 0 };
}

export function countAgainst(ledgers: Iterable<DeliveryLedger>, published: readonly string[]): LedgerCount {
  const count = emptyCount();
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
