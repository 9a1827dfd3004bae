import { describe, expect, it } from 'vitest';
import type { ChatCaseResult } from './chatCase.ts';
import { chatChartSvg } from './chatChart.ts';
import { DEFAULT_MIX } from './chatMix.ts';
import { parseChatOptions } from './chatOptions.ts';
import { earlyLate, markdownReport, mergeDocuments, ratiosToSocketIo, serverCpuSeconds, type ChatDocument } from './chatReport.ts';

const q = (p50: number, p99: number) => ({ p50, p90: p99, p99, max: p99 * 2, mean: p50 });

function row(system: 'stack' | 'socketio', channels: number, overrides: Partial<ChatCaseResult> = {}): ChatCaseResult {
  return {
    system,
    ...(system === 'stack' ? { pushpinProfile: 'fanout' as const } : {}),
    channels,
    subscribersPerChannel: 10,
    subscribers: channels * 10,
    rate: 1,
    publishers: 100,
    seconds: 20,
    connectedBefore: 2,
    composition: system === 'stack' ? { sse: 45, websocket: 35, stream: 18, poll: 2 } : { 'socket.io': 100 },
    loadAverageBefore: [1, 1, 1],
    loadAverageAtPublish: [2, 1, 1],
    loadAverageAfter: [3, 1, 1],
    connect: { seconds: 10, perSecond: 100, notLive: 0 },
    publish: { scheduled: 2000, sent: 2000, accepted: 2000, failed: 0, acceptedPerSecond: 100, answerMs: q(5, 50), publisherLateMs: { p99: 1, max: 2 } },
    expected: 20000,
    receivedWithinDrain: 20000,
    received: 20000,
    lost: 0,
    lastDeliveryAfterLastPublishS: 0.1,
    duplicated: 0,
    duplicatesDropped: 0,
    deliveriesPerSecond: 1000,
    latencyMs: q(20, 12000),
    timeline: [
      { second: 0, deliveries: 1000, p50: 9000, p99: 13000, max: 14000 },
      { second: 19, deliveries: 1000, p50: 10, p99: 80, max: 90 },
    ],
    byTransport: [],
    processes: [
      { name: 'condure', cpuSeconds: 1, peakRssMb: 10 },
      { name: 'origin', cpuSeconds: 3, peakRssMb: 10 },
      { name: 'subscriber load', cpuSeconds: 5, peakRssMb: 10 },
    ],
    ...overrides,
  };
}

describe('the chat report', () => {
  const ours = row('stack', 100);
  const theirs = row('socketio', 100, { latencyMs: q(1, 10), processes: [{ name: 'socket.io server', cpuSeconds: 2, peakRssMb: 10 }, { name: 'subscriber load', cpuSeconds: 5, peakRssMb: 10 }] });

  it('compares our row with Socket.IO at the same point', () => {
    expect(serverCpuSeconds(ours)).toBe(4);
    expect(ratiosToSocketIo([ours, theirs], ours)).toEqual({ deliveriesPerSecond: 1, p50: 20, p99: 1200, serverCpu: 2 });
    expect(ratiosToSocketIo([ours, theirs], theirs)).toBeUndefined();
    expect(ratiosToSocketIo([ours, row('socketio', 1000)], ours)).toBeUndefined();
  });

  it('tells early messages from late ones', () => {
    expect(earlyLate(ours)).toEqual({ early: 13000, late: 80 });
  });

  it('merges runs: a row measured again replaces the old one, the rest stay, ordered by channels', () => {
    const doc = (results: ChatCaseResult[], at: string): ChatDocument => ({
      generatedAt: at,
      command: `run ${at}`,
      machine: { cpus: 2, cpuModel: 'x', memoryGb: 1, node: '20', pushpin: '1.36.0', openFilesLimit: 20000 },
      options: (({ help: _h, outDir: _o, ...rest }) => rest)(parseChatOptions([])),
      pushpinProfile: 'fanout',
      results,
    });
    const merged = mergeDocuments(doc([row('stack', 1000), row('stack', 100, { deliveriesPerSecond: 1 })], 'a'), doc([row('stack', 100), row('socketio', 100)], 'b'));
    expect(merged.results.map((r) => [r.channels, r.system, r.deliveriesPerSecond])).toEqual([
      [100, 'stack', 1000],
      [100, 'socketio', 1000],
      [1000, 'stack', 1000],
    ]);
    expect(merged.runs?.map((r) => r.command)).toEqual(['run a', 'run b']);
    const md = markdownReport(merged);
    expect(md).toContain('| Pushpin + origin | 100 x 10 | 2 | 100 (100) | 1,000 | 20,000 of 20,000 | 20.0 | 12,000 |');
    expect(md).toContain('Merged from 2 runs');
    expect(DEFAULT_MIX.sse).toBe(0.45);
  });

  it('draws a chart with a line per system', () => {
    const svg = chatChartSvg([ours, theirs, row('stack', 1000), row('socketio', 1000)], 'caption');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Socket.IO 4 rooms, S=10, 2 s before');
    expect(svg).toContain('Pushpin + origin, S=10, 2 s before');
    expect(svg.match(/<polyline/g)!.length).toBeGreaterThanOrEqual(6);
  });
});
