// The plain-vs-client benchmark's smoke run (`npm run bench -- plainVsClient --quick`): plain
// subscribers and the client library on every transport through a burst, slow readers, a Pushpin
// restart and an origin restart, against the real Pushpin, origins and Redis. It checks the run wrote
// well-formed results and that the client side lost nothing; the plain side's figures are what they
// are (it asserts no loss for them, nor any speed).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRANSPORT_NAMES } from '../../protocol/index.ts';
import { runPlainVsClient } from '../../scripts/bench/plainVsClient.bench.ts';
import { parsePlainVsClientOptions } from '../../scripts/bench/plainVsClient/plainVsClientOptions.ts';
import { FAULT_NAMES, type PlainVsClientDocument } from '../../scripts/bench/plainVsClient/plainVsClientReport.ts';
import { pushpinProfileFromEnv } from '../../scripts/pushpin/pushpinProfiles.ts';
import { descendantsStillHere, killBenchMidRun } from '../harness/benchLeftovers.ts';

describe('npm run bench -- plainVsClient --quick', () => {
  it('runs every fault on every transport, the client side loses nothing, and writes JSON and Markdown', { timeout: 420_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'plain-vs-client-smoke-'));
    const lines: string[] = [];
    const { files } = await runPlainVsClient(parsePlainVsClientOptions(['--quick', '--out', out]), (line) => lines.push(line));

    const doc = JSON.parse(readFileSync(files.json, 'utf8')) as PlainVsClientDocument;
    expect(doc.pushpinProfile).toBe(pushpinProfileFromEnv());
    expect(doc.faults.map((f) => f.fault)).toEqual([...FAULT_NAMES]);
    for (const run of doc.faults) {
      expect(run.rows.map((r) => r.transport)).toEqual([...TRANSPORT_NAMES]);
      const perTransport = run.fault === 'burst' || run.fault === 'slow-readers' ? 2 : 3;
      expect(run.perTransport).toBe(perTransport);
      for (const row of run.rows) {
        const where = `${run.fault} ${row.transport}`;
        // Both sides are counted against the same ids: 5 before the fault, what it published, 5 after.
        expect(row.client.clients, where).toBe(perTransport);
        expect(row.plain.clients, where).toBe(perTransport);
        expect(row.client.expected, where).toBeGreaterThanOrEqual(perTransport * 10);
        expect(row.plain.expected, where).toBe(row.client.expected);
        expect(row.plain.delivered + row.plain.lost, where).toBe(row.plain.expected);
        expect(
          { delivered: row.client.delivered, lost: row.client.lost, duplicated: row.client.duplicated, outOfOrder: row.client.outOfOrder, resets: row.client.resets },
          where,
        ).toEqual({ delivered: row.client.expected, lost: 0, duplicated: 0, outOfOrder: 0, resets: 0 });
      }
    }
    const burst = doc.faults.find((f) => f.fault === 'burst')!;
    expect(burst.rows[0]!.client.expected).toBe(2 * (5 + 200 + 5));

    const md = readFileSync(files.markdown, 'utf8');
    expect(md).toContain(`under the \`${doc.pushpinProfile}\` profile`);
    expect(md).toContain('| fault | transport | plain: delivered | lost | duplicated | client: delivered | lost | duplicated | plain | client |');
    for (const fault of FAULT_NAMES) for (const transport of TRANSPORT_NAMES) expect(md).toContain(`| ${fault} | ${transport} |`);
    expect(lines.some((l) => l.includes('load average'))).toBe(true);
    // Every process the run started has stopped (the stack, the spare origin and Redis are our children).
    expect(descendantsStillHere()).toEqual([]);
  });
});

describe('the plain-vs-client benchmark killed mid-run', () => {
  it('leaves no process behind after SIGKILL', { timeout: 120_000 }, async () => {
    // Once the fault has begun: Redis, the stack (keepers, Pushpin's runner and services, the origin)
    // and the spare origin are all running, and subscribers are connecting.
    const { started, alive } = await killBenchMidRun({
      bench: 'plainVsClient',
      args: ['--faults', 'pushpin-restart'],
      outPrefix: 'plain-vs-client-killed-',
      going: /\[pushpin-restart\]/,
      settleMs: 1000,
      signal: 'SIGKILL',
    });
    expect(started.length).toBeGreaterThanOrEqual(8);
    expect(alive).toEqual([]);
  });
});
