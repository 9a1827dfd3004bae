// A real EventSource client (the `eventsource` package) that records events, for end-to-end tests.
import { EventSource } from 'eventsource';

export interface RecordedEvent {
  id: string;
  data: unknown;
}

export interface SseRecorder {
  events: RecordedEvent[];
  source: EventSource;
  /** Resolves once `count` events arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<RecordedEvent[]>;
  opened: Promise<void>;
  close(): void;
}

export function recordSse(url: string, headers: Record<string, string> = {}): SseRecorder {
  const events: RecordedEvent[] = [];
  const waiters = new Set<() => void>();
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }),
  });
  source.onmessage = (event) => {
    events.push({ id: event.lastEventId, data: JSON.parse(event.data) as unknown });
    for (const wake of waiters) wake();
  };
  const opened = new Promise<void>((resolve, reject) => {
    source.onopen = () => resolve();
    source.onerror = (error) => reject(new Error(`SSE error: ${String((error as { message?: string }).message)}`));
  });
  return {
    events,
    source,
    opened,
    close: () => source.close(),
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (events.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(events.slice(0, count));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} SSE events, got ${events.length}: ${JSON.stringify(events)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
