// The fan-out benchmark's smoke run (`npm run bench -- fanout --quick`): every transport against the
// real Pushpin and origin, and Socket.IO's clients against its server, at tiny N for two seconds. It
// checks the run produced well-formed results and lost nothing; it asserts no speed (the figures come
// from the full run on a quiet machine, see docs/benchmarks.md).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFanout } from '../../scripts/bench/fanout.bench.ts';
import { parseFanoutOptions } from '../../scripts/bench/fanout/fanoutOptions.ts';
import type { FanoutDocument } from '../../scripts/bench/fanout/fanoutReport.ts';
import { descendantsStillHere, killBenchMidRun } from '../harness/benchLeftovers.ts';

describe('npm run bench -- fanout --quick', () => {
  it('runs the mix and Socket.IO, loses nothing, and writes JSON, Markdown and SVG', { timeout: 180_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'fanout-smoke-'));
    const lines: string[] = [];
    const { files } = await runFanout(parseFanoutOptions(['--quick', '--out', out]), (line) => lines.push(line));

    const doc = JSON.parse(readFileSync(files.json, 'utf8')) as FanoutDocument;
    expect(doc.results.map((r) => `${r.system}:${r.transport}`)).toEqual(['pushpin:mix', 'socketio:socketio']);
    const mix = doc.results[0]!;
    expect(mix.composition).toEqual({ sse: 8, ws: 7, stream: 4, poll: 1 });
    for (const row of doc.results) {
      expect(row.subscribers).toBe(20);
      expect(row.published).toBe(20);
      expect(row.publishFailures).toBe(0);
      expect(row.expected).toBe(20 * 20);
      expect({ received: row.received, lost: row.lost, duplicates: row.duplicates }).toEqual({ received: 400, lost: 0, duplicates: 0 });
      expect(row.deliveriesPerSecond).toBeGreaterThan(0);
      expect(row.latencyMs.p50).toBeGreaterThan(0);
      expect(row.latencyMs.p99).toBeGreaterThanOrEqual(row.latencyMs.p50);
      expect(row.latencyMs.max).toBeGreaterThanOrEqual(row.latencyMs.p99);
      expect(row.loadAverageBefore).toHaveLength(3);
      for (const p of row.processes) {
        expect(p.cpuSeconds).toBeGreaterThanOrEqual(0);
        expect(p.peakRssMb).toBeGreaterThan(0);
      }
    }
    const names = mix.processes.map((p) => p.name);
    for (const name of ['condure', 'zurl', 'pushpin-proxy', 'pushpin-handler', 'origin', 'load generator']) expect(names).toContain(name);
    expect(doc.results[1]!.processes.map((p) => p.name)).toEqual(['socket.io server', 'load generator']);
    // Nothing reached the origin for the broadcast itself, but the long-poll's next polls.
    expect(mix.originDuringWindow!.websocketEvents).toBe(0);
    expect(mix.originDuringWindow!.holdsOpened).toBeLessThanOrEqual(mix.composition.poll! * mix.published + 5);

    const md = readFileSync(files.markdown, 'utf8');
    expect(md).toContain('| Pushpin: mix | 20 |');
    expect(md).toContain('| Socket.IO 4 (WebSocket) | 20 |');
    const svg = readFileSync(files.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(lines.some((l) => l.includes('load average'))).toBe(true);
    // Every process the run started has stopped (the load processes and the stacks are our children).
    expect(descendantsStillHere()).toEqual([]);
  });
});

describe('the fan-out benchmark killed mid-run', () => {
  it.each(['SIGKILL', 'SIGINT'] as const)('leaves no process behind after %s', { timeout: 120_000 }, async (signal) => {
    // Once publishing has started: the stack, its keepers and the load processes are all running.
    const { started, alive } = await killBenchMidRun({
      bench: 'fanout',
      args: ['--subscribers', '60', '--transports', 'mix', '--seconds', '60'],
      outPrefix: 'fanout-killed-',
      going: /subscribed in/,
      settleMs: 1000,
      signal,
    });
    expect(started.length).toBeGreaterThanOrEqual(8); // keepers, Pushpin's runner and 4 services, the origin, load processes
    expect(alive).toEqual([]);
  });
});
