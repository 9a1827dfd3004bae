import { describe, expect, it } from 'vitest';
import { fanoutChartSvg, niceCeiling } from './fanoutChart.ts';
import type { CaseResult } from './fanoutCase.ts';
import { markdownReport, mergeDocuments, ratioToSocketIo, type FanoutDocument } from './fanoutReport.ts';

function row(over: Partial<CaseResult>): CaseResult {
  return {
    system: 'pushpin',
    transport: 'sse',
    via: 'pushpin',
    subscribers: 1000,
    rate: 2,
    seconds: 20,
    composition: { sse: 1000 },
    loadAverageBefore: [0.5, 0.4, 0.3],
    loadAverageAfter: [1.5, 0.6, 0.4],
    connect: { seconds: 4, perSecond: 250, notSubscribed: 0, failures: 0, cpuSeconds: {} },
    published: 40,
    publishFailures: 0,
    expected: 40000,
    received: 40000,
    lost: 0,
    duplicates: 0,
    subscribersWithLoss: 0,
    reconnects: 0,
    resets: 0,
    deliveriesPerSecond: 2000,
    latencyMs: { p50: 10, p90: 20, p99: 40, max: 80, mean: 12 },
    processes: [
      { name: 'condure', cpuSeconds: 1.5, peakRssMb: 90 },
      { name: 'pushpin-handler', cpuSeconds: 1.2, peakRssMb: 40 },
      { name: 'origin', cpuSeconds: 0.2, peakRssMb: 150 },
      { name: 'load generator', cpuSeconds: 0.9, peakRssMb: 200 },
    ],
    serverCpuPer1000: 0.005,
    originDuringWindow: { holdsOpened: 0, websocketEvents: 0 },
    ...over,
  };
}

const results = [
  row({}),
  row({ transport: 'ws', deliveriesPerSecond: 1000, latencyMs: { p50: 900, p90: 1500, p99: 2500, max: 3000, mean: 1000 } }),
  row({ system: 'socketio', transport: 'socketio', via: 'direct', processes: [{ name: 'socket.io server', cpuSeconds: 0.7, peakRssMb: 120 }], originDuringWindow: undefined }),
  row({ subscribers: 5000, deliveriesPerSecond: 9000 }),
  row({ system: 'socketio', transport: 'socketio', via: 'direct', subscribers: 5000, deliveriesPerSecond: 10000, originDuringWindow: undefined }),
];
const doc: FanoutDocument = {
  generatedAt: '2026-12-01T00:00:00.000Z',
  command: 'npm run bench -- fanout',
  machine: { cpus: 2, cpuModel: 'test cpu', memoryGb: 24, node: '20.20.2', pushpin: '1.36.0', openFilesLimit: 20000 },
  options: { subscribers: [1000, 5000], transports: ['sse', 'ws'], rate: 2, seconds: 20, via: 'pushpin', socketIo: true, loadProcesses: undefined, drainSeconds: 10, quick: false, merge: false },
  results,
};

describe('fanoutReport', () => {
  it('ratio to Socket.IO at the same N and R', () => {
    expect(ratioToSocketIo(results, results[1]!)).toBe(0.5);
    expect(ratioToSocketIo(results, results[3]!)).toBe(0.9);
    expect(ratioToSocketIo(results, results[2]!)).toBeUndefined();
  });

  it('a Markdown row per run with deliveries, ratio, latency, loss, CPU and RSS', () => {
    const md = markdownReport(doc);
    expect(md).toContain('| Pushpin: ws | 1,000 | 1,000 | 0.50 | 900 | 2,500 | 3,000 | 0 | 0 | 0 | 4.0 (250) | 0.5 |');
    expect(md).toContain('| Socket.IO 4 (WebSocket) | 5,000 | 10,000 | - |');
    expect(md).toContain('condure 1.5, handler 1.2, origin 0.2');
    expect(md).toContain('Reproduce: `npm run bench -- fanout`');
  });
});

describe('fanoutChart', () => {
  it('one well-formed SVG with a line per system and transport', () => {
    const svg = fanoutChartSvg(results, 'test <chart> & co');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('test &lt;chart&gt; &amp; co');
    // Opening and closing tags balance (every element here is either self-closed or text).
    const opened = (svg.match(/<(svg|text)\b/g) ?? []).length;
    const closed = (svg.match(/<\/(svg|text)>/g) ?? []).length;
    expect(opened).toBe(closed);
    for (const label of ['Pushpin: sse', 'Pushpin: ws', 'Socket.IO 4 (WebSocket)']) expect(svg).toContain(`>${label}</text>`);
    // sse and Socket.IO have two points each: lines in both panels (p99 and p50 in the second).
    expect((svg.match(/<polyline /g) ?? []).length).toBe(2 * 3);
  });

  it('rounds axis maxima to 1, 2 or 5 times a power of ten', () => {
    expect([niceCeiling(0), niceCeiling(7), niceCeiling(13), niceCeiling(20001), niceCeiling(45000)]).toEqual([1, 10, 20, 50000, 50000]);
  });

  it('--merge keeps the rows a later run did not measure again, ordered by N, and lists both runs', () => {
    const later: FanoutDocument = {
      ...doc,
      generatedAt: '2026-12-01T01:00:00.000Z',
      command: 'npm run bench -- fanout --subscribers 1000,10000 --transports sse --merge',
      results: [row({ deliveriesPerSecond: 2040 }), row({ subscribers: 10000, deliveriesPerSecond: 15000 }), row({ system: 'socketio', transport: 'socketio', via: 'direct', subscribers: 10000 })],
    };
    const merged = mergeDocuments(doc, later);
    expect(merged.results.map((r) => [r.system, r.transport, r.subscribers, r.deliveriesPerSecond])).toEqual([
      ['pushpin', 'ws', 1000, 1000],
      ['pushpin', 'sse', 1000, 2040],
      ['socketio', 'socketio', 1000, 2000],
      ['pushpin', 'sse', 5000, 9000],
      ['socketio', 'socketio', 5000, 10000],
      ['pushpin', 'sse', 10000, 15000],
      ['socketio', 'socketio', 10000, 2000],
    ]);
    expect(merged.runs!.map((r) => r.generatedAt)).toEqual([doc.generatedAt, later.generatedAt]);
    expect(markdownReport(merged)).toContain('Merged from 2 runs');
    // A third run adds to the list.
    expect(mergeDocuments(merged, { ...later, generatedAt: 'third' }).runs).toHaveLength(3);
  });

  it('lists the publishes that failed, with their reasons', () => {
    const md = markdownReport({ ...doc, results: [row({ transport: 'ws', published: 1, publishFailures: 39, publishFailureReasons: { 'publish answered 502: {"error"|x}': 39 } })] });
    expect(md).toContain('- Pushpin: ws, 1,000: 39 of 40 (39 x publish answered 502: {"error"/x})');
    expect(markdownReport(doc)).not.toContain('Publishes that failed');
  });

  it('no server CPU per 1,000 deliveries for a row that delivered nothing (a CPU figure over 0 deliveries is no rate)', () => {
    const md = markdownReport({ ...doc, results: [row({ transport: 'ws', subscribers: 10000, received: 0, lost: 400000, serverCpuPer1000: 2.8 })] });
    expect(md).toContain('| 0.9 | - | 0 holds, 0 ws events |');
    expect(md).not.toContain('2,800');
  });

  it("lists what our clients recovered from (duplicates dropped, recoveries by reason), only for rows that had any", () => {
    const md = markdownReport({ ...doc, results: [row({ transport: 'ws', duplicatesDropped: 12, recoveries: { silent: 1, gap: 30 } }), row({ duplicatesDropped: 0 })] });
    expect(md).toContain('- Pushpin: ws, 1,000: dropped 12 duplicates; recoveries gap 30, silent 1');
    expect(md).not.toContain('- Pushpin: sse, 1,000:');
    expect(markdownReport(doc)).not.toContain('recovered from');
  });

  it('names the Pushpin profile of the rows, and labels each row with it when a merged document mixes profiles', () => {
    // Rows recorded before profiles ran what is now `gentle`.
    expect(markdownReport(doc)).toContain('Pushpin 1.36.0 with Pushpin profile gentle (scripts/pushpin/pushpinProfiles.ts);');
    expect(markdownReport(doc)).toContain('| Pushpin: ws | 1,000 |');
    const later: FanoutDocument = { ...doc, pushpinProfile: 'fanout', results: [row({ pushpinProfile: 'fanout', deliveriesPerSecond: 1990 })] };
    const merged = mergeDocuments(doc, later);
    // Same system, transport and N but another profile: both rows kept.
    expect(merged.results.filter((r) => r.system === 'pushpin' && r.transport === 'sse' && r.subscribers === 1000)).toHaveLength(2);
    const md = markdownReport(merged);
    expect(md).toContain('with Pushpin profiles gentle, fanout');
    expect(md).toContain('| Pushpin (fanout): sse | 1,000 | 1,990 |');
    expect(md).toContain('| Pushpin (gentle): sse | 1,000 | 2,000 |');
    expect(md).toContain('| Socket.IO 4 (WebSocket) | 1,000 |');
    expect(fanoutChartSvg(merged.results, 'mixed')).toContain('>Pushpin (fanout): sse</text>');
  });
});

