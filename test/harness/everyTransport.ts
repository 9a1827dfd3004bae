// One subscriber of every transport on a channel, through the edge (or the proxy) as a user would
// connect: an EventSource, an NDJSON stream, a long-poll and a WebSocket that received `subscribed`.
// Each records what arrives, so a test can check that one message reached all four exactly once.
import { readFileSync } from 'node:fs';
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

/** Pushpin's handler logs `subscribe <uri> channel=<name>` once a hold's subscription is in place. */
export function countSubscribes(pushpinLog: string, gripChannel: string): number {
  let text = '';
  try {
    text = readFileSync(pushpinLog, 'utf8');
  } catch {
    return 0;
  }
  const marker = ` channel=${gripChannel}`;
  return text.split('\n').filter((line) => line.includes('subscribe ') && (line.endsWith(marker) || line.includes(`${marker} `))).length;
}

interface PollBody {
  messages: Array<Record<string, unknown>>;
  lastId?: string;
}

/**
 * A long-poll client that polls again after every answer, from the answer's `lastId` when it has one
 * (a live-only message has none: keep the previous one), recording every message it is given.
 */
function recordPolls(url: string, channel: string, pushpinLog: string, headers: Record<string, string>): PollRecorder {
  const messages: Array<Record<string, unknown>> = [];
  const abort = new AbortController();
  let since: string | undefined;
  let holds = 0;
  const holdWaiters: Array<() => void> = [];
  const loop = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      const before = countSubscribes(pushpinLog, `poll:${channel}`);
      const pending = fetch(since === undefined ? url : `${url}?since=${since}`, { headers, signal: abort.signal });
      // Held once Pushpin logged the subscription of this poll to the live channel.
      void (async () => {
        while (!abort.signal.aborted && countSubscribes(pushpinLog, `poll:${channel}`) <= before) {
          await new Promise((r) => setTimeout(r, 20));
        }
        holds++;
        for (const wake of holdWaiters.splice(0)) wake();
      })().catch(() => {});
      // Like a real client, an error (the origin restarting: the proxy answers 502) means: poll again soon.
      const response = await pending.catch(() => undefined);
      const body = response?.ok ? ((await response.json().catch(() => undefined)) as PollBody | undefined) : undefined;
      if (!body) {
        if (!abort.signal.aborted) await new Promise((r) => setTimeout(r, 200));
        continue;
      }
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

/** `pushpinLog`: the stack's Pushpin log, where the long-poll's subscription shows up. */
export async function subscribeEvery(
  baseUrl: string,
  channel: string,
  pushpinLog: string,
  headers: Record<string, string> = {},
): Promise<EveryTransport> {
  const sse = recordSse(`${baseUrl}/events/${channel}`, headers);
  const ndjson = recordNdjson(`${baseUrl}/stream/${channel}`, headers);
  const ws = recordWs(baseUrl);
  const poll = recordPolls(`${baseUrl}/poll/${channel}`, channel, pushpinLog, headers);
  const close = (): void => {
    sse.close();
    ndjson.close();
    ws.close();
    poll.stop();
  };
  const freshChannel = countSubscribes(pushpinLog, `poll:${channel}`) === 0;
  try {
    const firstHold = poll.held();
    await Promise.all([sse.opened, ndjson.opened, ws.opened, firstHold]);
    // A channel's first subscription makes Pushpin update every hold on it a second later
    // (SUBSCRIBED_DELAY): the long-poll is retried, and a live-only message published while the retry
    // is on its way is not the poller's. Wait for that retry's hold: Pushpin logs it as a second
    // subscription of the same request (`... channel=poll:<name> retry`), which the client never sees.
    // It usually comes while the other transports open; 5 s if it never comes.
    if (freshChannel) {
      const deadline = Date.now() + 5000;
      while (countSubscribes(pushpinLog, `poll:${channel}`) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    ws.send({ type: 'subscribe', channel });
    await ws.waitFor(1, (f) => f.type === 'subscribed' && f.channel === channel);
  } catch (error) {
    close();
    throw error;
  }
  return { sse, ndjson, ws, poll, close };
}
