// Reads an NDJSON stream (GET /stream/:channel) through the proxy with fetch, recording each line (the
// position line a stream opens with when it replays nothing goes to `positions`, not `lines`).
import { createArrivals } from './arrivals.ts';
import { streamLines } from './streamLines.ts';

export interface NdjsonRecorder {
  lines: unknown[];
  /** The `lastId`s of the stream's position lines. */
  positions: string[];
  /** Resolves with the response status and headers once they arrived. */
  opened: Promise<Response>;
  waitFor(count: number, timeoutMs?: number): Promise<unknown[]>;
  close(): void;
}

export function recordNdjson(url: string, headers: Record<string, string> = {}): NdjsonRecorder {
  const arrivals = createArrivals<unknown>('NDJSON lines');
  const abort = new AbortController();
  const positions: string[] = [];
  const opened = fetch(url, { headers, signal: abort.signal });
  void opened
    .then(async (response) => {
      if (!response.body) return;
      for await (const line of streamLines(response.body)) {
        if (!line.trim()) continue;
        const parsed = JSON.parse(line) as { type?: string; lastId?: string };
        if (parsed.type === 'position' && parsed.lastId !== undefined) positions.push(parsed.lastId);
        else arrivals.push(parsed);
      }
    })
    .catch(() => {});
  return {
    lines: arrivals.items,
    positions,
    opened,
    close: () => abort.abort(),
    waitFor: (count, timeoutMs) => arrivals.waitFor(count, { timeoutMs }),
  };
}
