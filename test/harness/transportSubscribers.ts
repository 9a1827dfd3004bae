// Real subscribers for the non-SSE transports, through Pushpin: an NDJSON stream reader, a long-poll
// request and a WebSocket client, each recording what arrives, for end-to-end tests of publishing.
import WebSocket from 'ws';
import { createArrivals } from './arrivals.ts';
import { streamLines } from './streamLines.ts';

export interface Recorder<T> {
  received: T[];
  /** Resolves once `count` items arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves when the server ended the stream or socket. */
  ended: Promise<void>;
  close(): void;
}

function recorder<T>(): { rec: Omit<Recorder<T>, 'ended' | 'close'>; push(item: T): void } {
  const arrivals = createArrivals<T>('items');
  return {
    push: (item) => arrivals.push(item),
    rec: { received: arrivals.items, waitFor: (count, timeoutMs) => arrivals.waitFor(count, { timeoutMs }) },
  };
}

/** Reads a held HTTP stream line by line; `opened` resolves when the response headers arrived. */
export function recordLines(url: string, headers: Record<string, string>): Recorder<string> & { opened: Promise<void> } {
  const { rec, push } = recorder<string>();
  const abort = new AbortController();
  let markOpened: () => void = () => {};
  const opened = new Promise<void>((resolve) => (markOpened = resolve));
  const ended = (async () => {
    const response = await fetch(url, { headers, signal: abort.signal });
    if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
    markOpened();
    for await (const line of streamLines(response.body)) push(line);
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) throw error;
  });
  ended.catch(() => {});
  return { ...rec, opened, ended, close: () => abort.abort() };
}

/** One long-poll request; `body` resolves with the response body when Pushpin answers it. */
export function longPoll(url: string, headers: Record<string, string>): { body: Promise<{ status: number; text: string }>; close(): void } {
  const abort = new AbortController();
  const body = fetch(url, { headers, signal: abort.signal }).then(async (r) => ({ status: r.status, text: await r.text() }));
  body.catch(() => {});
  return { body, close: () => abort.abort() };
}

/** A WebSocket client recording text frames; `firstFrame` is sent on open (e.g. a subscribe command). */
export function recordWebSocket(
  url: string,
  headers: Record<string, string>,
  firstFrame?: string,
): Recorder<string> & { opened: Promise<void> } {
  const { rec, push } = recorder<string>();
  const socket = new WebSocket(url, { headers });
  socket.on('message', (data: WebSocket.RawData) => push(data.toString()));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => {
      if (firstFrame !== undefined) socket.send(firstFrame);
      resolve();
    });
    socket.once('error', reject);
  });
  opened.catch(() => {});
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { ...rec, opened, ended, close: () => socket.terminate() };
}
