import { describe, expect, it } from 'vitest';
import { emptyTally, type TransportTally } from '../../fleet/deliveryTally.ts';
import { faultRows, markdownReport, type PlainVsClientDocument } from './plainVsClientReport.ts';

function tally(over: Partial<TransportTally>): TransportTally {
  return { ...emptyTally(over.transport ?? 'websocket'), clients: 10, expected: 10_050, delivered: 10_050, ...over };
}

describe('plainVsClientReport', () => {
  const rows = faultRows(
    [tally({ delivered: 6_130, lost: 3_920 }), tally({ transport: 'sse', reconnects: 10, duplicated: 4, outOfOrder: 2 })],
    [tally({ duplicatesDropped: 12, recoveries: { gap: 10, cut: 0 }, reconnects: 10 }), tally({ transport: 'sse' })],
    { sse: 3 },
  );

  it('pairs the plain and the client tallies by transport, keeping what each recovered from', () => {
    expect(rows.map((r) => r.transport)).toEqual(['websocket', 'sse']);
    expect(rows[0]!.plain).toMatchObject({ delivered: 6_130, lost: 3_920, duplicated: 0 });
    expect(rows[0]!.client).toMatchObject({ delivered: 10_050, lost: 0, duplicatesDropped: 12, recoveries: { gap: 10 } });
    expect(rows[0]!.plain.gaveUp).toBeUndefined();
    expect(rows[1]!.plain.gaveUp).toBe(3);
  });

  it('a Markdown row per fault and transport: delivered / lost / duplicated on each side, and the load', () => {
    const doc: PlainVsClientDocument = {
      generatedAt: '2026-12-07T00:00:00.000Z',
      command: 'npm run bench -- plainVsClient --pushpin-profile fanout',
      pushpinProfile: 'fanout',
      machine: { cpus: 2, node: '20.20.2', pushpin: '1.36.0' },
      settings: { clients: 10, restartClients: 50, burst: { messages: 1000, bytes: 1000 }, slowReaders: { messages: 2000, bytes: 3000 }, waitSeconds: 75 },
      faults: [{ fault: 'burst', description: '1,000 x 1,000 B published at once', perTransport: 10, loadAverageBefore: [1.25, 2, 3], loadAverageAfter: [4, 3, 2], seconds: 80.4, rows }],
    };
    const md = markdownReport(doc);
    expect(md).toContain('under the `fanout` profile');
    expect(md).toContain('| burst | websocket | 6,130/10,050 | 3,920 | 0 | 10,050/10,050 | 0 | 0 | reconnects 0 | recovered: gap 10; dropped 12 duplicates |');
    expect(md).toContain('| burst | sse | 10,050/10,050 | 0 | 4 (+2 out of order) | 10,050/10,050 | 0 | 0 | reconnects 10; 3 EventSources closed for good | reconnects 0 |');
    expect(md).toContain('- burst: 1,000 x 1,000 B published at once; 10 plain and 10 clients per transport; 80 s; load 1.3 2.0 3.0 -> 4.0 3.0 2.0');
    expect(md).toContain('Reproduce: `npm run bench -- plainVsClient --pushpin-profile fanout`');
    expect(md).toContain('after waiting up to 75 s for them.');
    const quick = markdownReport({ ...doc, settings: { ...doc.settings, plainGraceSeconds: 5 } });
    expect(quick).toContain('after waiting up to 75 s for the clients and 5 s more at most for the plain subscribers (a quick run).');
  });
});
