// One subscriber of every transport on a channel, through the edge (or the proxy) as a user would
// connect: an EventSource, an NDJSON stream, a long-poll and a WebSocket that received `subscribed`.
// Each records what arrives, so a test can check that one message reached all four exactly once.
import { recordNdjson, type NdjsonRecorder } from './ndjsonClient.ts';
import { recordSse, type SseRecorder } from './sseClient.ts';
import { recordWs, type WsRecorder } from './wsClient.ts';

export interface PollRecorder {
  /** Every long-poll answer's messages, in order (the poll is re-issued after each answer). */
  messages: Array<Record<string, unknown>>;
  /** Resolves when the origin has put the next poll on hold. */
  held(): Promise<void>;
  stop(): void;
}

export interface EveryTransport {
  sse: SseRecorder;
  ndjson: NdjsonRecorder;
  ws: WsRecorder;
  poll: PollRecorder;
  close(): void;
}

/** Reads a Prometheus counter with one label from the origin's /metrics. */
export async function counterValue(originUrl: string, token: string, name: string, label: string): Promise<number> {
  const text = await (await fetch(`${originUrl}/metrics`, { headers: { Authorization: `Bearer ${token}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${label}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/**
 * A long-poll client that polls again after every answer, from the answer's `lastId` when it has one
 * (a live-only message has none: keep the previous one), recording every message it is given.
 */
function recordPolls(url: string, metrics: { origin: string; token: string }): PollRecorder {
  const messages: Array<Record<string, unknown>> = [];
  const abort = new AbortController();
  let since: string | undefined;
  let holds = 0;
  const holdWaiters: Array<() => void> = [];
  const loop = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      const before = await counterValue(metrics.origin, metrics.token, 'origin_holds_opened_total', 'transport="poll"');
      const pending = fetch(since === undefined ? url : `${url}?since=${since}`, { signal: abort.signal });
      // The hold exists once the origin answered with it; give the proxy a moment to set it up.
      void (async () => {
        while (!abort.signal.aborted) {
          const now = await counterValue(metrics.origin, metrics.token, 'origin_holds_opened_total', 'transport="poll"');
          if (now > before) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 150));
        holds++;
        for (const wake of holdWaiters.splice(0)) wake();
      })().catch(() => {});
      const body = (await (await pending).json()) as { messages: Array<Record<string, unknown>>; lastId?: string };
      messages.push(...body.messages);
      if (body.lastId !== undefined) since = body.lastId;
    }
  };
  void loop().catch(() => {});
  return {
    messages,
    held: () => {
      const target = holds + 1;
      return new Promise<void>((resolve) => {
        const check = (): void => (holds >= target ? resolve() : void holdWaiters.push(check));
        check();
      });
    },
    stop: () => abort.abort(),
  };
}

export async function subscribeEvery(
  baseUrl: string,
  channel: string,
  metrics: { origin: string; token: string },
  headers: Record<string, string> = {},
): Promise<EveryTransport> {
  const sse = recordSse(`${baseUrl}/events/${channel}`, headers);
  const ndjson = recordNdjson(`${baseUrl}/stream/${channel}`, headers);
  const ws = recordWs(baseUrl);
  const poll = recordPolls(`${baseUrl}/poll/${channel}`, metrics);
  const close = (): void => {
    sse.close();
    ndjson.close();
    ws.close();
    poll.stop();
  };
  try {
    const firstHold = poll.held();
    await Promise.all([sse.opened, ndjson.opened, ws.opened, firstHold]);
    ws.send({ type: 'subscribe', channel });
    await ws.waitFor(1, (f) => f.type === 'subscribed' && f.channel === channel);
  } catch (error) {
    close();
    throw error;
  }
  return { sse, ndjson, ws, poll, close };
}
