// Long replays paged by many subscribers at once. A replay larger than one response is sent in pages:
// each page's Grip-Link next names where the next one starts, and Pushpin follows it. Pushpin shares
// the next-link requests of its sessions when their path and Grip-Last headers match ("auto-share",
// which ignores the query string), so a position in the query let a session be handed another
// session's page: clients resuming at the same time from different positions skipped pages or got
// them twice (seen first as losses in the soak and the slow-consumers bench). Positions now sit in
// the link's path. Real Pushpin; every client must get exactly the messages after its position.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordNdjson } from '../harness/ndjsonClient.ts';
import { recordSse } from '../harness/sseClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

const ROUTE = { 'pushpin-route': 'origin' };
const MESSAGES = 600;
/** About 28 messages per 90 KB page, so a replay from the start is over 20 pages. */
const PAD = 'x'.repeat(3000);
const CLIENTS = 8;

let stack: TestStack;
const ids = new Map<string, string[]>();

async function fill(channel: string): Promise<string[]> {
  const all: string[] = [];
  for (let sent = 0; sent < MESSAGES; sent += 100) {
    const response = await stack.publish({ items: Array.from({ length: 100 }, (_, n) => ({ channel, data: { n: sent + n, pad: PAD } })) });
    expect(response.status).toBe(200);
    all.push(...((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id));
  }
  return all;
}

beforeAll(async () => {
  stack = await startTestStack();
  for (const channel of ['paging-sse', 'paging-ndjson']) ids.set(channel, await fill(channel));
}, 120_000);
afterAll(() => stack?.stop());

/** Positions 0 (everything), then every 7th message: different positions, pages that overlap. */
const positions = (all: string[]): string[] => ['0', ...Array.from({ length: CLIENTS - 1 }, (_, k) => all[k * 7]!)];
const after = (all: string[], position: string): string[] => (position === '0' ? all : all.slice(all.indexOf(position) + 1));

describe('many subscribers paging through a long replay at once, each from its own position', () => {
  it('SSE (Last-Event-ID): every client gets exactly what follows its position, once, in order', async () => {
    const all = ids.get('paging-sse')!;
    const clients = positions(all).map((position) => ({
      position,
      recorder: recordSse(`${stack.urls.pushpinProxy}/events/paging-sse`, { ...ROUTE, 'Last-Event-ID': position }),
    }));
    try {
      await Promise.all(clients.map(({ position, recorder }) => recorder.waitFor(after(all, position).length, 60_000).catch(() => {})));
      for (const { position, recorder } of clients) {
        expect({ position, ids: recorder.events.map((e) => e.id) }).toEqual({ position, ids: after(all, position) });
      }
    } finally {
      for (const { recorder } of clients) recorder.close();
    }
  }, 90_000);

  it('NDJSON (?since=): every client gets exactly what follows its position, once, in order', async () => {
    const all = ids.get('paging-ndjson')!;
    const clients = positions(all).map((position) => ({
      position,
      recorder: recordNdjson(`${stack.urls.pushpinProxy}/stream/paging-ndjson?since=${position}`, ROUTE),
    }));
    const messageIds = (lines: unknown[]): string[] =>
      lines.filter((l): l is { id: string; data: unknown } => typeof l === 'object' && l !== null && 'data' in l && 'id' in l).map((l) => l.id);
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && clients.some(({ position, recorder }) => messageIds(recorder.lines).length < after(all, position).length)) {
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 500)); // anything doubled arrives meanwhile
      for (const { position, recorder } of clients) {
        expect({ position, ids: messageIds(recorder.lines) }).toEqual({ position, ids: after(all, position) });
      }
    } finally {
      for (const { recorder } of clients) recorder.close();
    }
  }, 90_000);
});
