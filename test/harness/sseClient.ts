// A real EventSource client (the `eventsource` package) that records events, for end-to-end tests.
import { EventSource } from 'eventsource';
import { createArrivals } from './arrivals.ts';

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
  const arrivals = createArrivals<RecordedEvent>('SSE events');
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }),
  });
  source.onmessage = (event) => {
    arrivals.push({ id: event.lastEventId, data: JSON.parse(event.data) as unknown });
  };
  const opened = new Promise<void>((resolve, reject) => {
    source.onopen = () => resolve();
    source.onerror = (error) => reject(new Error(`SSE error: ${String((error as { message?: string }).message)}`));
  });
  return {
    events: arrivals.items,
    source,
    opened,
    close: () => source.close(),
    waitFor: (count, timeoutMs) => arrivals.waitFor(count, { timeoutMs }),
  };
}
