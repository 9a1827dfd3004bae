// Reads an NDJSON stream (GET /stream/:channel) through the proxy with fetch, recording each line.
export interface NdjsonRecorder {
  lines: unknown[];
  /** Resolves with the response status and headers once they arrived. */
  opened: Promise<Response>;
  waitFor(count: number, timeoutMs?: number): Promise<unknown[]>;
  close(): void;
}

export function recordNdjson(url: string, headers: Record<string, string> = {}): NdjsonRecorder {
  const lines: unknown[] = [];
  const waiters = new Set<() => void>();
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
          if (line) lines.push(JSON.parse(line) as unknown);
        }
        for (const wake of waiters) wake();
      }
    })
    .catch(() => {});
  return {
    lines,
    opened,
    close: () => abort.abort(),
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (lines.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(lines.slice(0, count));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} NDJSON lines, got ${JSON.stringify(lines)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
