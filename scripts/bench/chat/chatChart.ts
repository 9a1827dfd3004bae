// The chat results as one SVG: deliveries/s (left) and latency p99/p50 (middle, log scale) against the
// number of channels, one line per system (and hold design, and connected-before); and the p99 of the
// messages published in each second of the run (right, log scale), one line per row, which shows
// whether fresh channels' early messages waited. Hand-written like the fan-out benchmark's chart.
import { niceCeiling } from '../fanout/fanoutChart.ts';
import type { ChatCaseResult } from './chatCase.ts';
import { systemLabel } from './chatReport.ts';

const WIDTH = 1200;
const HEIGHT = 430;
const PANEL_WIDTH = (WIDTH - 40) / 3;
const MARGIN = { top: 50, bottom: 70, left: 62, right: 16 };
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#e377c2'];

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number): string => (v >= 10000 ? `${Math.round(v / 1000)}k` : v >= 1000 ? `${(v / 1000).toFixed(1).replace(/\.0$/, '')}k` : String(Math.round(v * 100) / 100));

function seriesLabel(r: ChatCaseResult): string {
  return `${systemLabel(r)}, S=${r.subscribersPerChannel}, ${r.connectedBefore} s before`;
}

interface Axis {
  log: boolean;
  min: number;
  max: number;
}

function scale(axis: Axis, from: number, to: number): (v: number) => number {
  if (axis.log) {
    const lo = Math.log10(axis.min);
    const hi = Math.log10(axis.max);
    return (v) => from + ((to - from) * (Math.log10(Math.min(axis.max, Math.max(axis.min, v))) - lo)) / (hi - lo);
  }
  return (v) => from + ((to - from) * (v - axis.min)) / (axis.max - axis.min);
}

function logAxis(values: number[]): Axis {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0);
  return { log: true, min: 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(1, ...finite)))), max: 10 ** Math.ceil(Math.log10(Math.max(10, ...finite))) };
}

function ticks(axis: Axis): number[] {
  if (axis.log) return Array.from({ length: Math.round(Math.log10(axis.max / axis.min)) + 1 }, (_, i) => axis.min * 10 ** i);
  return Array.from({ length: 6 }, (_, i) => axis.min + ((axis.max - axis.min) * i) / 5);
}

interface Line {
  color: string;
  dashed: boolean;
  points: Array<[number, number]>;
}

function panel(out: string[], x0: number, title: string, xLabel: string, yLabel: string, xAxis: Axis, yAxis: Axis, lines: Line[], xTicks: number[]): void {
  const left = x0 + MARGIN.left;
  const right = x0 + PANEL_WIDTH - MARGIN.right;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const x = scale(xAxis, left, right);
  const y = scale(yAxis, bottom, top);
  out.push(`<text x="${(left + right) / 2}" y="${top - 12}" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`);
  for (const t of ticks(yAxis)) {
    out.push(`<line x1="${left}" y1="${y(t).toFixed(1)}" x2="${right}" y2="${y(t).toFixed(1)}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${left - 6}" y="${y(t).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  for (const t of xTicks) out.push(`<text x="${x(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
  out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/>`, `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`);
  out.push(`<text x="${(left + right) / 2}" y="${bottom + 34}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  out.push(`<text transform="translate(${x0 + 14} ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  for (const line of lines) {
    const pts = line.points.filter(([, v]) => Number.isFinite(v)).map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`);
    if (pts.length > 1) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${line.color}" stroke-width="${line.dashed ? 1.2 : 2}"${line.dashed ? ' stroke-dasharray="5,4"' : ''}/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="${line.dashed ? 2 : 3}" fill="${line.color}"/>`);
    }
  }
}

export function chatChartSvg(results: readonly ChatCaseResult[], caption: string): string {
  const labels = [...new Set(results.map(seriesLabel))].sort((a, b) => Number(b.startsWith('Socket.IO')) - Number(a.startsWith('Socket.IO')));
  let next = 0;
  const colorOf = new Map(labels.map((l) => [l, l.startsWith('Socket.IO') ? '#000000' : COLORS[next++ % COLORS.length]!]));
  const xs = [...new Set(results.map((r) => r.channels))].sort((a, b) => a - b);
  // Channels on a log axis when they span a decade or more (100, 1,000, 5,000).
  const xAxis: Axis = xs.length > 1 && xs.at(-1)! / xs[0]! >= 10 ? { log: true, min: xs[0]!, max: xs.at(-1)! } : { log: false, min: (xs[0] ?? 1) - 1, max: (xs.at(-1) ?? 1) + 1 };
  const byLabel = (label: string): ChatCaseResult[] => results.filter((r) => seriesLabel(r) === label).sort((a, b) => a.channels - b.channels);
  const legendRows = Math.ceil(labels.length / 3);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT + 22 * legendRows}" viewBox="0 0 ${WIDTH} ${HEIGHT + 22 * legendRows}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(caption)}</text>`,
  ];
  panel(
    out,
    10,
    'deliveries per second',
    'channels',
    'deliveries/s',
    xAxis,
    { log: false, min: 0, max: niceCeiling(Math.max(1, ...results.map((r) => r.deliveriesPerSecond))) },
    labels.map((l) => ({ color: colorOf.get(l)!, dashed: false, points: byLabel(l).map((r) => [r.channels, r.deliveriesPerSecond] as [number, number]) })),
    xs,
  );
  panel(
    out,
    20 + PANEL_WIDTH,
    'latency: p99 (solid), p50 (dashed)',
    'channels',
    'ms (log)',
    xAxis,
    logAxis(results.flatMap((r) => [r.latencyMs.p50, r.latencyMs.p99])),
    labels.flatMap((l) => [
      { color: colorOf.get(l)!, dashed: false, points: byLabel(l).map((r) => [r.channels, r.latencyMs.p99] as [number, number]) },
      { color: colorOf.get(l)!, dashed: true, points: byLabel(l).map((r) => [r.channels, r.latencyMs.p50] as [number, number]) },
    ]),
    xs,
  );
  const seconds = Math.max(1, ...results.map((r) => r.seconds));
  const biggest = xs.at(-1);
  const timelineRows = results.filter((r) => r.channels === biggest);
  panel(
    out,
    30 + 2 * PANEL_WIDTH,
    `p99 by second of publishing, ${biggest ?? 0} channels`,
    'second of the run the message was published in',
    'ms (log)',
    { log: false, min: 0, max: Math.ceil(seconds) },
    logAxis(timelineRows.flatMap((r) => r.timeline.map((p) => p.p99))),
    timelineRows.map((r) => ({ color: colorOf.get(seriesLabel(r))!, dashed: false, points: r.timeline.filter((p) => p.second >= 0 && p.second <= seconds).map((p) => [p.second, p.p99] as [number, number]) })),
    Array.from({ length: 6 }, (_, i) => Math.round((seconds * i) / 5)),
  );
  labels.forEach((label, i) => {
    const x = 30 + (i % 3) * 390;
    const y = HEIGHT - 10 + Math.floor(i / 3) * 22;
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${colorOf.get(label)}" stroke-width="3"/>`);
    out.push(`<text x="${x + 30}" y="${y}" dominant-baseline="middle">${escapeXml(label)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
