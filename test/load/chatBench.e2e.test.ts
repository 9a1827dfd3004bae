// The chat benchmark's smoke run (`npm run bench -- chat --quick`): 10 channels x 4 subscribers of every
// transport against the real Pushpin and origin, and Socket.IO's clients against its chat server, for
// three seconds. It checks the run produced well-formed results and lost nothing; it asserts no speed
// (the figures come from full runs, see docs/benchmarks.md, Chat).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchPushpinProfile } from '../../scripts/bench/benchEnv.ts';
import { runChat } from '../../scripts/bench/chat.bench.ts';
import { parseChatOptions } from '../../scripts/bench/chat/chatOptions.ts';
import type { ChatDocument } from '../../scripts/bench/chat/chatReport.ts';
import { descendantsStillHere, killBenchMidRun } from '../harness/benchLeftovers.ts';

describe('npm run bench -- chat --quick', () => {
  it('runs our stack and Socket.IO, loses nothing, and writes JSON, Markdown and SVG', { timeout: 180_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'chat-smoke-'));
    const lines: string[] = [];
    const { files } = await runChat(parseChatOptions(['--quick', '--out', out]), (line) => lines.push(line));

    const doc = JSON.parse(readFileSync(files.json, 'utf8')) as ChatDocument;
    expect(doc.results.map((r) => r.system)).toEqual(['stack', 'socketio']);
    const ours = doc.results[0]!;
    expect(ours.pushpinProfile).toBe(benchPushpinProfile());
    expect(ours.composition).toEqual({ sse: 18, websocket: 14, stream: 7, poll: 1 });
    expect(doc.results[1]!.composition).toEqual({ 'socket.io': 40 });
    for (const row of doc.results) {
      expect(row.channels).toBe(10);
      expect(row.subscribers).toBe(40);
      expect(row.publish.scheduled).toBe(60);
      expect(row.publish).toMatchObject({ sent: 60, accepted: 60, failed: 0 });
      expect(row.expected).toBe(60 * 4);
      expect({ received: row.received, lost: row.lost, duplicated: row.duplicated }).toEqual({ received: 240, lost: 0, duplicated: 0 });
      expect(row.connect.notLive).toBe(0);
      expect(row.deliveriesPerSecond).toBeGreaterThan(0);
      expect(row.latencyMs.p99).toBeGreaterThanOrEqual(row.latencyMs.p50);
      expect(row.latencyMs.max).toBeGreaterThanOrEqual(row.latencyMs.p99);
      expect(row.timeline.reduce((n, p) => n + p.deliveries, 0)).toBe(240);
      expect(row.loadAverageAtPublish).toHaveLength(3);
      for (const p of row.processes) expect(p.cpuSeconds).toBeGreaterThanOrEqual(0);
    }
    expect(ours.byTransport.map((t) => t.transport).sort()).toEqual(['poll', 'sse', 'stream', 'websocket']);
    const names = ours.processes.map((p) => p.name);
    for (const name of ['condure', 'zurl', 'pushpin-proxy', 'pushpin-handler', 'origin', 'subscriber load', 'publisher load']) expect(names).toContain(name);
    expect(doc.results[1]!.processes.map((p) => p.name)).toEqual(['socket.io server', 'subscriber load', 'publisher load']);

    const md = readFileSync(files.markdown, 'utf8');
    expect(md).toContain('| Pushpin + origin | 10 x 4 |');
    expect(md).toContain('| Socket.IO 4 rooms | 10 x 4 |');
    const svg = readFileSync(files.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(lines.some((l) => l.includes('load average'))).toBe(true);
    // Every process the run started has stopped (the load processes and the stacks are our children).
    expect(descendantsStillHere()).toEqual([]);
  });
});

describe('the chat benchmark killed mid-run', () => {
  it('leaves no process behind after SIGKILL', { timeout: 120_000 }, async () => {
    const { started, alive } = await killBenchMidRun({
      bench: 'chat',
      args: ['--channels', '20', '--subscribers', '3', '--seconds', '60', '--no-socket-io'],
      outPrefix: 'chat-killed-',
      going: /publishing in/,
      settleMs: 1500,
      signal: 'SIGKILL',
    });
    // Keepers, Pushpin's runner and services, the origin, subscriber and publisher processes.
    expect(started.length).toBeGreaterThanOrEqual(9);
    expect(alive).toEqual([]);
  });
});
