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

/**
 * A channel's first subscription makes Pushpin update every hold on it a second later
 * (SUBSCRIBED_DELAY, a timer per channel; a poll hold has two: the live channel and the history one):
 * the long-poll is retried inside the same client request, which the client never sees, and a
 * live-only message published while a retry is on its way is not the poller's. Pushpin logs each
 * retry's hold as another subscription (`... channel=poll:<name> retry`). Settled: at least one
 * retry, 1.5 s after the first hold (both timers have fired), and no new hold for 1 s. When the other
 * timer fires while the first retry is on its way, the session retries again once that one is held,
 * through the handler's update limiter (10 a second): seen on a fresh-clone run, the second retry
 * 100 ms after the first, and a live-only message published between them missed by the poller
 * (Pushpin had it for the hold: `publish channel=poll:<name> receivers=1`). At most 8 s after the
 * first hold.
 */
async function pollRetriesSettled(pushpinLog: string, channel: string, firstHoldAt: number): Promise<void> {
  const holds = (): number => countSubscribes(pushpinLog, `poll:${channel}`);
  let seen = holds();
  let changedAt = Date.now();
  const settled = (now: number): boolean => seen >= 2 && now - firstHoldAt >= 1500 && now - changedAt >= 1000;
  while (!settled(Date.now()) && Date.now() < firstHoldAt + 8000) {
    await new Promise((r) => setTimeout(r, 20));
    const now = holds();
    if (now !== seen) {
      seen = now;
      changedAt = Date.now();
    }
  }
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
    const firstHoldAt = firstHold.then(() => Date.now());
    await Promise.all([sse.opened, ndjson.opened, ws.opened, firstHold]);
    if (freshChannel) await pollRetriesSettled(pushpinLog, channel, await firstHoldAt);
    ws.send({ type: 'subscribe', channel });
    await ws.waitFor(1, (f) => f.type === 'subscribed' && f.channel === channel);
  } catch (error) {
    close();
    throw error;
  }
  return { sse, ndjson, ws, poll, close };
}
