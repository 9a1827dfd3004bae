// The benchmark's publisher: one message at a time at a steady rate through a publish API that stores
// and numbers it (the origin's /api/publish, or the Socket.IO server's /publish). Each message carries
// the wall-clock time it was sent, from which every subscriber computes its latency; the ids in the
// answers are what every subscriber must receive.
import { wallClock } from './wallClock.ts';

export interface PublishRun {
  /** Ids the API answered with, in publish order. */
  ids: string[];
  /** Publishes that failed (not stored: no subscriber is expected to have them). */
  failures: number;
  /** Why they failed: each distinct reason (status and the start of the answer, or the error) and how often. */
  failureReasons: Record<string, number>;
  /** Wall-clock ms of the first publish. */
  startedAt: number;
}

export interface Publisher {
  /** Publishes one message and returns its id. */
  publishOne(data: Record<string, unknown>): Promise<string>;
  /** `rate` messages a second for `seconds`, on schedule (a slow answer does not delay the next). */
  publishAt(rate: number, seconds: number): Promise<PublishRun>;
}

export function startPublisher(options: { url: string; token: string; channel: string }): Publisher {
  const post = async (data: Record<string, unknown>): Promise<string> => {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: options.channel, data }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`publish answered ${response.status}: ${text.slice(0, 200)}`);
    const id = (JSON.parse(text) as { messages?: Array<{ id?: unknown }> }).messages?.[0]?.id;
    if (typeof id !== 'string') throw new Error(`publish answer without an id: ${text.slice(0, 200)}`);
    return id;
  };
  return {
    publishOne: post,
    async publishAt(rate, seconds) {
      const count = Math.max(1, Math.round(rate * seconds));
      const ids: Array<string | undefined> = new Array(count);
      let failures = 0;
      const failureReasons: Record<string, number> = {};
      const startedAt = wallClock();
      const start = performance.now();
      const inFlight: Array<Promise<void>> = [];
      for (let seq = 0; seq < count; seq++) {
        const wait = start + (seq * 1000) / rate - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        inFlight.push(
          post({ seq, sentAt: wallClock() }).then(
            (id) => void (ids[seq] = id),
            (error: unknown) => {
              failures++;
              const reason = (error instanceof Error ? error.message : String(error)).slice(0, 160);
              failureReasons[reason] = (failureReasons[reason] ?? 0) + 1;
            },
          ),
        );
      }
      await Promise.all(inFlight);
      return { ids: ids.filter((id): id is string => id !== undefined), failures, failureReasons, startedAt };
    },
  };
}
