// The results of a fan-out benchmark as a JSON document and as Markdown tables. Pure: the caller writes them.
import type { CaseResult } from './fanoutCase.ts';
import type { FanoutOptions } from './fanoutOptions.ts';
import type { PushpinProfileName } from '../../pushpin/pushpinProfiles.ts';

export interface FanoutDocument {
  generatedAt: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; pushpin: string; openFilesLimit: number | null };
  options: Omit<FanoutOptions, 'help' | 'outDir'>;
  results: CaseResult[];
  /** The Pushpin profile of this run (each row carries its own: a merged document may hold several). */
  pushpinProfile?: PushpinProfileName;
  /** With --merge: every run whose rows the document holds, oldest first (this one last). */
  runs?: Array<{ command: string; generatedAt: string }>;
}

/** A Pushpin row's profile; rows recorded before profiles ran what is now `gentle`. Socket.IO: none. */
export function rowProfile(r: Pick<CaseResult, 'system' | 'pushpinProfile'>): PushpinProfileName | undefined {
  return r.system === 'socketio' ? undefined : (r.pushpinProfile ?? 'gentle');
}

const rowKey = (r: CaseResult): string => [r.system, r.transport, r.via, rowProfile(r) ?? '', r.subscribers, r.rate, r.seconds].join('|');

/** The profiles of the document's Pushpin rows, in order of first appearance. */
export function documentProfiles(results: CaseResult[]): PushpinProfileName[] {
  return [...new Set(results.flatMap((r) => rowProfile(r) ?? []))];
}

/**
 * --merge: the previous document's rows that this run did not measure again (same system, transport,
 * via, N, R and S), then this run's; ordered by N, Pushpin's rows before Socket.IO's, as they ran.
 * A long series (1k, 5k, 10k) can so be run in several short runs into one table and chart.
 */
export function mergeDocuments(previous: FanoutDocument, current: FanoutDocument): FanoutDocument {
  const fresh = new Set(current.results.map(rowKey));
  const kept = previous.results.filter((r) => !fresh.has(rowKey(r)));
  const order = (r: CaseResult): number => r.subscribers * 10 + (r.system === 'socketio' ? 1 : 0);
  const results = [...kept, ...current.results].map((r, i) => ({ r, i })).sort((a, b) => order(a.r) - order(b.r) || a.i - b.i).map(({ r }) => r);
  const earlier = previous.runs ?? [{ command: previous.command, generatedAt: previous.generatedAt }];
  return { ...current, results, runs: [...earlier, { command: current.command, generatedAt: current.generatedAt }] };
}

/** Our deliveries/s over Socket.IO's at the same N and R (same run); undefined without a Socket.IO row. */
export function ratioToSocketIo(results: CaseResult[], row: CaseResult): number | undefined {
  if (row.system === 'socketio') return undefined;
  const theirs = results.find((r) => r.system === 'socketio' && r.subscribers === row.subscribers && r.rate === row.rate);
  if (!theirs || theirs.deliveriesPerSecond <= 0) return undefined;
  return row.deliveriesPerSecond / theirs.deliveriesPerSecond;
}

const n = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';

/** `withProfile`: name the row's Pushpin profile (a table that mixes profiles). */
export function systemLabel(row: Pick<CaseResult, 'system' | 'transport' | 'via' | 'pushpinProfile'>, withProfile = false): string {
  if (row.system === 'socketio') return 'Socket.IO 4 (WebSocket)';
  const via = row.via === 'edge' ? ' via edge' : '';
  const profile = withProfile ? ` (${rowProfile(row)})` : '';
  return `Pushpin${profile}${via}: ${row.transport}`;
}

/** Pushpin's services in the order a reader follows a delivery. */
const PUSHPIN_ORDER = ['condure', 'pushpin-handler', 'pushpin-proxy', 'zurl', 'pushpin'];

function cpuCell(row: CaseResult): string {
  const byName = new Map(row.processes.map((p) => [p.name, p]));
  const names = row.system === 'socketio' ? ['socket.io server'] : [...PUSHPIN_ORDER, 'origin', 'edge (compute host)'];
  return names
    .filter((name) => byName.has(name))
    .map((name) => `${name.replace('pushpin-', '')} ${n(byName.get(name)!.cpuSeconds, 1)}`)
    .join(', ');
}

function rssCell(row: CaseResult): string {
  const byName = new Map(row.processes.map((p) => [p.name, p]));
  const names = row.system === 'socketio' ? ['socket.io server'] : [...PUSHPIN_ORDER, 'origin', 'edge (compute host)'];
  return names
    .filter((name) => byName.has(name))
    .map((name) => `${name.replace('pushpin-', '')} ${n(byName.get(name)!.peakRssMb)}`)
    .join(', ');
}

/** `dropped 3 duplicates; recoveries gap 2, silent 1`: what a row's clients recovered from. */
export function clientRecoveryText(row: Pick<CaseResult, 'duplicatesDropped' | 'recoveries' | 'outOfOrder'>): string {
  const recoveries = Object.entries(row.recoveries ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `${reason} ${n(count)}`);
  return [
    `dropped ${n(row.duplicatesDropped ?? 0)} duplicates`,
    ...(recoveries.length > 0 ? [`recoveries ${recoveries.join(', ')}`] : []),
    ...((row.outOfOrder ?? 0) > 0 ? [`handed on out of order ${n(row.outOfOrder!)}`] : []),
  ].join('; ');
}

export function markdownReport(doc: FanoutDocument): string {
  const rows = doc.results;
  const lines: string[] = [];
  const m = doc.machine;
  const profiles = documentProfiles(rows);
  const mixed = profiles.length > 1;
  const label = (row: CaseResult): string => systemLabel(row, mixed);
  lines.push(
    `Fan-out on ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB, Node ${m.node}, Pushpin ${m.pushpin}` +
      `${profiles.length > 0 ? ` with Pushpin profile${mixed ? 's' : ''} ${profiles.join(', ')} (scripts/pushpin/pushpinProfiles.ts)` : ''}; ` +
      `one channel, ${doc.options.rate} msg/s for ${doc.options.seconds} s through the publish API; ` +
      `load generator on the same machine (${doc.generatedAt}).`,
    '',
    ...(doc.runs && doc.runs.length > 1 ? [`Merged from ${doc.runs.length} runs: ${doc.runs.map((r) => `\`${r.command}\` (${r.generatedAt})`).join('; ')}.`, ''] : []),
    '| system | subscribers | deliveries/s | x Socket.IO | p50 ms | p99 ms | max ms | lost | duplicated | reconnects | connect s (per s) | load avg |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of rows) {
    const ratio = ratioToSocketIo(rows, row);
    lines.push(
      `| ${label(row)} | ${n(row.subscribers)} | ${n(row.deliveriesPerSecond)} | ${ratio === undefined ? '-' : n(ratio, 2)} | ` +
        `${n(row.latencyMs.p50, 0)} | ${n(row.latencyMs.p99, 0)} | ${n(row.latencyMs.max, 0)} | ${n(row.lost)} | ${n(row.duplicates)} | ` +
        `${n(row.reconnects)} | ${n(row.connect.seconds, 1)} (${n(row.connect.perSecond)}) | ${n(row.loadAverageBefore[0], 1)} |`,
    );
  }
  const recovered = rows.filter((row) => (row.duplicatesDropped ?? 0) > 0 || row.recoveries !== undefined || (row.outOfOrder ?? 0) > 0);
  if (recovered.length > 0) {
    lines.push('', "What our subscribers (fanout-forward clients) recovered from: duplicates the proxy sent that they dropped, and why they connected again:", '');
    for (const row of recovered) lines.push(`- ${label(row)}, ${n(row.subscribers)}: ${clientRecoveryText(row)}`);
  }
  const failed = rows.filter((row) => row.publishFailures > 0);
  if (failed.length > 0) {
    lines.push('', 'Publishes that failed (not stored, so not counted in expected or lost):', '');
    for (const row of failed) {
      const reasons = Object.entries(row.publishFailureReasons ?? {}).map(([why, count]) => `${count} x ${why.replace(/\|/g, '/')}`);
      lines.push(`- ${label(row)}, ${n(row.subscribers)}: ${n(row.publishFailures)} of ${n(row.published + row.publishFailures)}${reasons.length > 0 ? ` (${reasons.join('; ')})` : ''}`);
    }
  }
  lines.push(
    '',
    'CPU seconds during the publish window and peak RSS (MB) per process; server CPU per 1,000 deliveries is the origin\'s (ours) or the Socket.IO server\'s:',
    '',
    '| system | subscribers | CPU s | peak RSS MB | load generator CPU s | server CPU ms / 1,000 deliveries | origin requests in window |',
    '| --- | ---: | --- | --- | ---: | ---: | ---: |',
  );
  for (const row of rows) {
    const loadCpu = row.processes.find((p) => p.name === 'load generator')?.cpuSeconds ?? Number.NaN;
    const origin = row.originDuringWindow ? `${n(row.originDuringWindow.holdsOpened)} holds, ${n(row.originDuringWindow.websocketEvents)} ws events` : '-';
    lines.push(
      `| ${label(row)} | ${n(row.subscribers)} | ${cpuCell(row)} | ${rssCell(row)} | ${n(loadCpu, 1)} | ${row.received > 0 ? n(row.serverCpuPer1000 * 1000, 2) : '-'} | ${origin} |`,
    );
  }
  lines.push('', `Reproduce: \`${doc.command}\``, '');
  return lines.join('\n');
}
