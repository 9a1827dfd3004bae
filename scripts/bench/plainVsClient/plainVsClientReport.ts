// The plain-vs-client benchmark's results: per fault and transport, what plain subscribers and the
// client library each delivered, lost and duplicated; as a JSON document and a Markdown table. Pure:
// the benchmark writes them.
import type { TransportName } from '../../../client/index.ts';
import { emptyTally, type TransportTally } from '../../fleet/deliveryTally.ts';
import type { PushpinProfileName } from '../../pushpin/pushpinProfiles.ts';

export const FAULT_NAMES = ['burst', 'slow-readers', 'pushpin-restart', 'origin-restart'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/**
 * One side (plain or client) on one transport through one fault: the tally's figures (expected and
 * delivered summed over the clients; duplicated: ids handed to the application a second time), and
 * what explains them.
 */
export type SideCounts = Pick<TransportTally, 'clients' | 'expected' | 'delivered' | 'lost' | 'duplicated' | 'outOfOrder' | 'reconnects' | 'resets'> & {
  /** Plain SSE: EventSources that failed for good (an error status ends an EventSource). */
  gaveUp?: number;
  /** The client: duplicates the proxy sent that it dropped. */
  duplicatesDropped?: number;
  /** The client: why it left a connection and resumed (gap, silent, pong-behind, cut, ...). */
  recoveries?: Record<string, number>;
};

export interface FaultRow {
  transport: TransportName;
  plain: SideCounts;
  client: SideCounts;
}

export interface FaultRun {
  fault: FaultName;
  /** What was done, with its sizes: `1,000 x 1,000 B published at once`. */
  description: string;
  /** Plain subscribers, and as many clients, per transport. */
  perTransport: number;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  /** From the fault's start until the tally. */
  seconds: number;
  rows: FaultRow[];
}

export interface BurstSize {
  messages: number;
  bytes: number;
}

export interface PlainVsClientSettings {
  /** Of each side per transport, for the burst and the slow readers. */
  clients: number;
  /** Of each side per transport, for the restarts. */
  restartClients: number;
  burst: BurstSize;
  slowReaders: BurstSize;
  /** How long everyone was given to have everything after a fault. */
  waitSeconds: number;
  /**
   * A quick run's shortcut: the plain subscribers were counted this long after the clients had
   * everything (within waitSeconds); absent: they were given the whole wait.
   */
  plainGraceSeconds?: number;
}

export interface PlainVsClientDocument {
  generatedAt: string;
  command: string;
  pushpinProfile: PushpinProfileName;
  machine: { cpus: number; node: string; pushpin: string };
  settings: PlainVsClientSettings;
  faults: FaultRun[];
}

export function sideCounts(transport: TransportName, t: TransportTally = emptyTally(transport), extra: Pick<SideCounts, 'gaveUp'> = {}): SideCounts {
  const recoveries = Object.fromEntries(Object.entries(t.recoveries).filter(([, n]) => (n ?? 0) > 0)) as Record<string, number>;
  return {
    clients: t.clients,
    expected: t.expected,
    delivered: t.delivered,
    lost: t.lost,
    duplicated: t.duplicated,
    outOfOrder: t.outOfOrder,
    reconnects: t.reconnects,
    resets: t.resets,
    ...(extra.gaveUp ? { gaveUp: extra.gaveUp } : {}),
    ...(t.duplicatesDropped > 0 ? { duplicatesDropped: t.duplicatesDropped } : {}),
    ...(Object.keys(recoveries).length > 0 ? { recoveries } : {}),
  };
}

/** The rows of one fault, in the tallies' transport order; `gaveUp`: plain EventSources closed for good, by transport. */
export function faultRows(plain: readonly TransportTally[], client: readonly TransportTally[], gaveUp: Partial<Record<TransportName, number>> = {}): FaultRow[] {
  const transports = [...new Set([...plain, ...client].map((t) => t.transport))];
  return transports.map((transport) => ({
    transport,
    plain: sideCounts(
      transport,
      plain.find((t) => t.transport === transport),
      gaveUp[transport] ? { gaveUp: gaveUp[transport] } : {},
    ),
    client: sideCounts(transport, client.find((t) => t.transport === transport)),
  }));
}

const n = (value: number): string => value.toLocaleString('en-US');

function deliveredCell(s: SideCounts): string {
  return `${n(s.delivered)}/${n(s.expected)}`;
}

function duplicatedCell(s: SideCounts): string {
  return `${n(s.duplicated)}${s.outOfOrder > 0 ? ` (+${n(s.outOfOrder)} out of order)` : ''}`;
}

function plainNote(s: SideCounts): string {
  return [`reconnects ${n(s.reconnects)}`, ...(s.gaveUp ? [`${n(s.gaveUp)} EventSource${s.gaveUp > 1 ? 's' : ''} closed for good`] : [])].join('; ');
}

function clientNote(s: SideCounts): string {
  const recoveries = Object.entries(s.recoveries ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `${reason} ${n(count)}`);
  return [
    ...(recoveries.length > 0 ? [`recovered: ${recoveries.join(', ')}`] : [`reconnects ${n(s.reconnects)}`]),
    ...(s.duplicatesDropped ? [`dropped ${n(s.duplicatesDropped)} duplicates`] : []),
    ...(s.resets ? [`resets ${n(s.resets)}`] : []),
  ].join('; ');
}

const loadText = (load: number[]): string => load.map((l) => l.toFixed(1)).join(' ');

export function markdownReport(doc: PlainVsClientDocument): string {
  const s = doc.settings;
  const lines = [
    `Plain subscribers (browser APIs, resuming from the last id they saw, nothing more) beside the client library ` +
      `(fanout-forward/client) on every transport, fresh ones on a channel of their own for each fault, straight to Pushpin ${doc.machine.pushpin} ` +
      `under the \`${doc.pushpinProfile}\` profile, Redis history; ${doc.machine.cpus} cores, Node ${doc.machine.node} (${doc.generatedAt}). ` +
      `Delivered / lost / duplicated count every id a publish was answered with or the history holds, summed over the clients, ` +
      (s.plainGraceSeconds === undefined
        ? `after waiting up to ${s.waitSeconds} s for them.`
        : `after waiting up to ${s.waitSeconds} s for the clients and ${s.plainGraceSeconds} s more at most for the plain subscribers (a quick run).`),
    '',
    '| fault | transport | plain: delivered | lost | duplicated | client: delivered | lost | duplicated | plain | client |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const run of doc.faults) {
    for (const row of run.rows) {
      lines.push(
        `| ${run.fault} | ${row.transport} | ${deliveredCell(row.plain)} | ${n(row.plain.lost)} | ${duplicatedCell(row.plain)} | ` +
          `${deliveredCell(row.client)} | ${n(row.client.lost)} | ${duplicatedCell(row.client)} | ${plainNote(row.plain)} | ${clientNote(row.client)} |`,
      );
    }
  }
  lines.push('', 'The faults (load average before -> after, 1/5/15 min):', '');
  for (const run of doc.faults) {
    lines.push(
      `- ${run.fault}: ${run.description}; ${run.perTransport} plain and ${run.perTransport} clients per transport; ` +
        `${run.seconds.toFixed(0)} s; load ${loadText(run.loadAverageBefore)} -> ${loadText(run.loadAverageAfter)}`,
    );
  }
  lines.push('', `Reproduce: \`${doc.command}\``, '');
  return lines.join('\n');
}
