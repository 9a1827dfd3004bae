// Reads an NDJSON stream (GET /stream/:channel) through the proxy with fetch, recording each line.
import { createArrivals } from './arrivals.ts';
import { streamLines } from './streamLines.ts';

export interface NdjsonRecorder {
  lines: unknown[];
  /** Resolves with the response status and headers once they arrived. */
  opened: Promise<Response>;
  waitFor(count: number, timeoutMs?: number): Promise<unknown[]>;
  close(): void;
}

export function recordNdjson(url: string, headers: Record<string, string> = {}): NdjsonRecorder {
  const arrivals = createArrivals<unknown>('NDJSON lines');
  const abort = new AbortController();
  const opened = fetch(url, { headers, signal: abort.signal });
  void opened
    .then(async (response) => {
      if (!response.body) return;
      for await (const line of streamLines(response.body)) {
        if (line.trim()) arrivals.push(JSON.parse(line) as unknown);
      }
    })
    .catch(() => {});
  return {
    lines: arrivals.items,
    opened,
    close: () => abort.abort(),
    waitFor: (count, timeoutMs) => arrivals.waitFor(count, { timeoutMs }),
  };
}
