// Reads an NDJSON stream (GET /stream/:channel) through the proxy with fetch, recording each line.
import { createArrivals } from './arrivals.ts';

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
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf('\n')) !== -1) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) arrivals.push(JSON.parse(line) as unknown);
        }
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
