// The fan-out results as one SVG: deliveries/s (left) and latency p50/p99 (right, log scale) against
// subscribers, one line per system and transport. Hand-written (two line charts do not need a plotting
// library, and the output is a small stable text file that diffs well in git).
import type { CaseResult } from './fanoutCase.ts';
import { documentProfiles, systemLabel } from './fanoutReport.ts';

const WIDTH = 960;
const HEIGHT = 420;
const PANEL = { top: 50, bottom: 70, left: 70, right: 20 };
const PANEL_WIDTH = (WIDTH - 40) / 2;
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#e377c2'];

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number): string => (v >= 10000 ? `${Math.round(v / 1000)}k` : v >= 1000 ? `${(v / 1000).toFixed(1).replace(/\.0$/, '')}k` : String(Math.round(v)));

interface Series {
  label: string;
  color: string;
  points: CaseResult[];
}

function seriesOf(results: CaseResult[]): Series[] {
  const byLabel = new Map<string, CaseResult[]>();
  // One line per profile too when the rows mix Pushpin profiles.
  const mixed = documentProfiles(results).length > 1;
  for (const r of results) byLabel.set(systemLabel(r, mixed), [...(byLabel.get(systemLabel(r, mixed)) ?? []), r]);
  // Socket.IO first, in black, so it reads as the reference line.
  const labels = [...byLabel.keys()].sort((a, b) => Number(b.startsWith('Socket.IO')) - Number(a.startsWith('Socket.IO')));
  let next = 0;
  return labels.map((label) => ({
    label,
    color: label.startsWith('Socket.IO') ? '#000000' : COLORS[next++ % COLORS.length]!,
    points: byLabel.get(label)!.sort((a, b) => a.subscribers - b.subscribers),
  }));
}

/** Round axis maxima: 1, 2 or 5 times a power of ten at or above `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

interface Panel {
  x0: number;
  title: string;
  yLabel: string;
  log: boolean;
  yMax: number;
  yMin: number;
  value: (r: CaseResult) => number;
  secondary?: (r: CaseResult) => number;
}

export function fanoutChartSvg(results: CaseResult[], caption: string): string {
  const series = seriesOf(results);
  const xs = [...new Set(results.map((r) => r.subscribers))].sort((a, b) => a - b);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT + 22 * Math.ceil(series.length / 3)}" viewBox="0 0 ${WIDTH} ${HEIGHT + 22 * Math.ceil(series.length / 3)}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(caption)}</text>`,
  );
  const latencies = results.flatMap((r) => [r.latencyMs.p50, r.latencyMs.p99]).filter((v) => Number.isFinite(v) && v > 0);
  const panels: Panel[] = [
    {
      x0: 10,
      title: 'deliveries per second',
      yLabel: 'deliveries/s',
      log: false,
      yMin: 0,
      yMax: niceCeiling(Math.max(1, ...results.map((r) => r.deliveriesPerSecond))),
      value: (r) => r.deliveriesPerSecond,
    },
    {
      x0: 30 + PANEL_WIDTH,
      title: 'latency, publish to delivery: p99 (solid), p50 (dashed)',
      yLabel: 'ms (log)',
      log: true,
      yMin: 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...latencies, 1)))),
      yMax: 10 ** Math.ceil(Math.log10(Math.max(10, ...latencies))),
      value: (r) => r.latencyMs.p99,
      secondary: (r) => r.latencyMs.p50,
    },
  ];
  for (const panel of panels) {
    const left = panel.x0 + PANEL.left;
    const right = panel.x0 + PANEL_WIDTH - PANEL.right;
    const top = PANEL.top;
    const bottom = HEIGHT - PANEL.bottom;
    const xAt = (i: number): number => (xs.length === 1 ? (left + right) / 2 : left + ((right - left) * i) / (xs.length - 1));
    const yAt = (v: number): number => {
      if (panel.log) {
        const lv = Math.log10(Math.min(panel.yMax, Math.max(panel.yMin, v)));
        return bottom - ((bottom - top) * (lv - Math.log10(panel.yMin))) / (Math.log10(panel.yMax) - Math.log10(panel.yMin));
      }
      return bottom - ((bottom - top) * (v - panel.yMin)) / (panel.yMax - panel.yMin);
    };
    out.push(`<text x="${(left + right) / 2}" y="${top - 12}" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`);
    const ticks = panel.log
      ? Array.from({ length: Math.round(Math.log10(panel.yMax / panel.yMin)) + 1 }, (_, i) => panel.yMin * 10 ** i)
      : Array.from({ length: 6 }, (_, i) => (panel.yMax * i) / 5);
    for (const tick of ticks) {
      const y = yAt(tick).toFixed(1);
      out.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e0e0e0"/>`);
      out.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(tick)}</text>`);
    }
    out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/>`, `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`);
    xs.forEach((x, i) => out.push(`<text x="${xAt(i).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${fmt(x)}</text>`));
    out.push(`<text x="${(left + right) / 2}" y="${bottom + 34}" text-anchor="middle">subscribers</text>`);
    out.push(`<text transform="translate(${panel.x0 + 16} ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`);
    for (const s of series) {
      const line = (value: (r: CaseResult) => number, dashed: boolean): void => {
        const pts = s.points
          .filter((r) => Number.isFinite(value(r)))
          .map((r) => `${xAt(xs.indexOf(r.subscribers)).toFixed(1)},${yAt(value(r)).toFixed(1)}`);
        if (pts.length > 1) {
          out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="${dashed ? 1.2 : 2}"${dashed ? ' stroke-dasharray="5,4"' : ''}/>`);
        }
        for (const p of pts) {
          const [cx, cy] = p.split(',');
          out.push(`<circle cx="${cx}" cy="${cy}" r="${dashed ? 2 : 3.5}" fill="${s.color}"/>`);
        }
      };
      line(panel.value, false);
      if (panel.secondary) line(panel.secondary, true);
    }
  }
  series.forEach((s, i) => {
    const x = 40 + (i % 3) * 300;
    const y = HEIGHT - 10 + Math.floor(i / 3) * 22;
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${s.color}" stroke-width="3"/>`);
    out.push(`<text x="${x + 30}" y="${y}" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
