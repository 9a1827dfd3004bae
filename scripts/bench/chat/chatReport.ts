// The chat benchmark's results as a JSON document and as Markdown tables. Pure: the caller writes them.
import type { PushpinProfileName } from '../../pushpin/pushpinProfiles.ts';
import type { ChatCaseResult } from './chatCase.ts';
import { formatMix } from './chatMix.ts';
import type { ChatOptions } from './chatOptions.ts';

export interface ChatDocument {
  generatedAt: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; pushpin: string; openFilesLimit: number | null };
  options: Omit<ChatOptions, 'help' | 'outDir'>;
  pushpinProfile: PushpinProfileName;
  results: ChatCaseResult[];
  /** With --merge: every run whose rows the document holds, oldest first. */
  runs?: Array<{ command: string; generatedAt: string }>;
}

/** What makes two rows the same measurement (a later run replaces it under --merge). */
export function rowKey(r: ChatCaseResult): string {
  return [r.system, r.pushpinProfile ?? '', r.channels, r.subscribersPerChannel, r.rate, r.seconds, r.connectedBefore, r.presence === true ? 'presence' : ''].join('|');
}

export function mergeDocuments(previous: ChatDocument, current: ChatDocument): ChatDocument {
  const fresh = new Set(current.results.map(rowKey));
  const kept = previous.results.filter((r) => !fresh.has(rowKey(r)));
  const order = (r: ChatCaseResult): number => r.channels * 1e6 + r.subscribersPerChannel * 1e3 + r.connectedBefore * 10 + (r.system === 'socketio' ? 5 : 0);
  const results = [...kept, ...current.results].map((r, i) => ({ r, i })).sort((a, b) => order(a.r) - order(b.r) || a.i - b.i).map(({ r }) => r);
  const earlier = previous.runs ?? [{ command: previous.command, generatedAt: previous.generatedAt }];
  return { ...current, results, runs: [...earlier, { command: current.command, generatedAt: current.generatedAt }] };
}

/** The Socket.IO row measured at the same point (same C, S, R, seconds), if any. */
export function socketIoRowFor(results: readonly ChatCaseResult[], row: ChatCaseResult): ChatCaseResult | undefined {
  if (row.system === 'socketio') return undefined;
  return results.find(
    (r) => r.system === 'socketio' && r.channels === row.channels && r.subscribersPerChannel === row.subscribersPerChannel && r.rate === row.rate && r.seconds === row.seconds,
  );
}

/** CPU seconds of the side that holds the connections and relays: Pushpin's services and the origin, or the Socket.IO server. */
export function serverCpuSeconds(row: ChatCaseResult): number {
  return row.processes.filter((p) => p.name !== 'subscriber load' && p.name !== 'publisher load').reduce((n, p) => n + (Number.isFinite(p.cpuSeconds) ? p.cpuSeconds : 0), 0);
}

export interface Ratios {
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  serverCpu: number;
}

/** Ours over Socket.IO's at the same point: deliveries/s, latency p50 and p99, server CPU seconds. */
export function ratiosToSocketIo(results: readonly ChatCaseResult[], row: ChatCaseResult): Ratios | undefined {
  const theirs = socketIoRowFor(results, row);
  if (!theirs) return undefined;
  const q = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);
  return {
    deliveriesPerSecond: q(row.deliveriesPerSecond, theirs.deliveriesPerSecond),
    p50: q(row.latencyMs.p50, theirs.latencyMs.p50),
    p99: q(row.latencyMs.p99, theirs.latencyMs.p99),
    serverCpu: q(serverCpuSeconds(row), serverCpuSeconds(theirs)),
  };
}

export function systemLabel(row: Pick<ChatCaseResult, 'system'>): string {
  return row.system === 'socketio' ? 'Socket.IO 4 rooms' : 'Pushpin + origin';
}

const n = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
const la = (l: [number, number, number]): string => l.map((v) => n(v, 1)).join(' ');

/** Pushpin's services in the order a delivery passes them, then the rest. */
const PROCESS_ORDER = ['condure', 'pushpin-proxy', 'zurl', 'pushpin-handler', 'pushpin', 'pushpin runner', 'origin', 'socket.io server', 'subscriber load', 'publisher load'];

function cpuCell(row: ChatCaseResult): string {
  const ordered = [...row.processes].sort((a, b) => (PROCESS_ORDER.indexOf(a.name) + 1 || 99) - (PROCESS_ORDER.indexOf(b.name) + 1 || 99));
  return ordered.map((p) => `${p.name.replace('pushpin-', '')} ${n(p.cpuSeconds, 1)}`).join(', ');
}

/** Latency of the messages published in the first and the last few seconds (p99 ms, per-second worst). */
export function earlyLate(row: ChatCaseResult, span = 5): { early: number; late: number } {
  const points = row.timeline.filter((p) => p.second >= 0 && p.second < row.seconds);
  const worst = (ps: typeof points): number => (ps.length === 0 ? Number.NaN : Math.max(...ps.map((p) => p.p99)));
  return { early: worst(points.filter((p) => p.second < span)), late: worst(points.filter((p) => p.second >= row.seconds - span)) };
}

export function markdownReport(doc: ChatDocument): string {
  const m = doc.machine;
  const o = doc.options;
  const rows = doc.results;
  const lines: string[] = [
    `Chat on ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB, Node ${m.node}, Pushpin ${m.pushpin} with profile ${doc.pushpinProfile}; ` +
      `C channels x S subscribers (${formatMix(o.mix)}; Socket.IO: its WebSocket clients), every channel ${o.rate} msg/s for ${o.seconds} s ` +
      `through the origin's POST /api/publish (one message per request over ${o.publishers} connections) or emitted to the Socket.IO server; ` +
      `subscribers connected at ${o.connectRate}/s, clients' silence check ${o.silenceCheckSeconds > 0 ? `${o.silenceCheckSeconds} s` : 'the default'}; ` +
      `${o.presence ? 'the origin counting presence' : 'presence off at the origin (PRESENCE_TRACKING=false; Socket.IO rooms count nothing either)'}; ` +
      `load generators in child processes on the same machine (${doc.generatedAt}).`,
    '',
    ...(doc.runs && doc.runs.length > 1 ? [`Merged from ${doc.runs.length} runs: ${doc.runs.map((r) => `\`${r.command}\` (${r.generatedAt})`).join('; ')}.`, ''] : []),
    '| system | C x S | connected before s | publishes/s accepted (of offered) | deliveries/s | delivered within the drain | p50 ms | p99 ms | max ms | lost | duplicated | p99 first 5 s / last 5 s | x Socket.IO deliveries/s, p99, server CPU | load avg at publish |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const ratios = ratiosToSocketIo(rows, row);
    const { early, late } = earlyLate(row);
    lines.push(
      `| ${systemLabel(row)} | ${n(row.channels)} x ${row.subscribersPerChannel} | ${n(row.connectedBefore)} | ${n(row.publish.acceptedPerSecond)} (${n(row.channels * row.rate)}) | ` +
        `${n(row.deliveriesPerSecond)} | ${n(row.receivedWithinDrain)} of ${n(row.expected)} | ${n(row.latencyMs.p50, 1)} | ${n(row.latencyMs.p99, 0)} | ${n(row.latencyMs.max, 0)} | ${n(row.lost)} | ${n(row.duplicated)} | ` +
        `${n(early, 0)} / ${n(late, 0)} | ${ratios ? `${n(ratios.deliveriesPerSecond, 2)}, ${n(ratios.p99, 1)}, ${n(ratios.serverCpu, 1)}` : '-'} | ${la(row.loadAverageAtPublish)} |`,
    );
  }
  const failed = rows.filter((r) => r.publish.failed > 0);
  if (failed.length > 0) {
    lines.push('', 'Publishes that failed (not counted in expected or lost):', '');
    for (const r of failed) {
      const reasons = Object.entries(r.publish.failureReasons ?? {}).map(([why, count]) => `${count} x ${why.replace(/\|/g, '/')}`);
      lines.push(`- ${systemLabel(r)}, ${n(r.channels)} x ${r.subscribersPerChannel}: ${n(r.publish.failed)} of ${n(r.publish.sent)} (${reasons.join('; ')})`);
    }
  }
  lines.push(
    '',
    `Delivered within the drain: within ${doc.options.drainSeconds} s of the last publish's answer. Lost: never delivered${doc.options.waitAllSeconds > 0 ? ` (after up to ${doc.options.waitAllSeconds} s more)` : ''}; latency counts every delivery, late ones too.`,
    '',
    'Publishing, connecting and CPU seconds from the first publish to the end of the drain (load generators included; the server CPU ratio above is Pushpin + origin over the Socket.IO server):',
    '',
    '| system | C x S | publish answer p50 / p99 ms | publisher lag p99 ms | connect s (per s) | CPU s | load avg before / after |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: |',
  );
  for (const row of rows) {
    lines.push(
      `| ${systemLabel(row)} | ${n(row.channels)} x ${row.subscribersPerChannel} | ${n(row.publish.answerMs.p50, 1)} / ${n(row.publish.answerMs.p99, 0)} | ${n(row.publish.publisherLateMs.p99, 0)} | ` +
        `${n(row.connect.seconds, 1)} (${n(row.connect.perSecond)})${row.connect.notLive > 0 ? `, ${n(row.connect.notLive)} not live` : ''} | ${cpuCell(row)} | ${la(row.loadAverageBefore)} / ${la(row.loadAverageAfter)} |`,
    );
  }
  lines.push('', 'Per transport (delivered of expected, lost, what the clients recovered from):', '', '| system | C x S | transport | clients | delivered | lost | duplicated | duplicates dropped | p50 / p99 / max ms | recoveries |', '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const row of rows) {
    for (const t of row.byTransport) {
      const recoveries = Object.entries(t.recoveries).map(([why, k]) => `${why} ${k}`).join(', ') || '-';
      lines.push(`| ${systemLabel(row)} | ${n(row.channels)} x ${row.subscribersPerChannel} | ${t.transport} | ${n(t.clients)} | ${n(t.delivered)} of ${n(t.expected)} | ${n(t.lost)} | ${n(t.duplicated + t.outOfOrder)} | ${n(t.duplicatesDropped)} | ${n(t.latencyMs.p50, 1)} / ${n(t.latencyMs.p99, 0)} / ${n(t.latencyMs.max, 0)} | ${recoveries} |`);
    }
  }
  const withLinks = rows.filter((r) => r.nextLinks);
  if (withLinks.length > 0) {
    lines.push('', "Next-link fetches in Pushpin's handler log (debug level), by second relative to the first publish:", '');
    for (const row of withLinks) {
      const l = row.nextLinks!;
      const busiest = [...l.perSecond].sort((a, b) => b.links - a.links)[0];
      lines.push(
        `- ${systemLabel(row)}, ${n(row.channels)} x ${row.subscribersPerChannel}, connected ${n(row.connectedBefore)} s before: ${n(l.sessions)} session updates over ${n(l.links)} distinct links ` +
          `(${n(l.laterLinks)} after a first message), seconds ${l.firstSecond ?? '-'} to ${l.lastSecond ?? '-'}; busiest second ${busiest ? `${busiest.second}: ${busiest.links} links, ${busiest.sessions} sessions` : '-'}; ` +
          `queued items dropped ${n(l.queueDrops)}, prev-id conflicts ${n(l.inconsistencies)}`,
      );
    }
  }
  lines.push('', `Reproduce: \`${doc.command}\``, '');
  return lines.join('\n');
}
