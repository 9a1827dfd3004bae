// What was published, as one info line a minute instead of one per publish: at chat scale a line per
// message is most of the log and a measurable share of the origin's CPU. Each publish itself is a debug
// line (LOG_LEVEL=debug). Counts only; channel names are counted, never listed.
import type { Logger } from './logger.ts';

/** Distinct channels counted per window at most (a hostile publisher cannot grow the set without bound). */
const MAX_CHANNELS_COUNTED = 10_000;

export interface PublishSummary {
  /** One publish request: how many messages were stored, how many were retries, on which channels. */
  record(published: number, duplicates: number, channels: Iterable<string>): void;
  /** Logs what is counted so far (if anything) and starts a new window. */
  flush(): void;
}

export function createPublishSummary(log: Logger, intervalMs = 60_000, now: () => number = Date.now): PublishSummary {
  let requests = 0;
  let messages = 0;
  let duplicates = 0;
  let channels = new Set<string>();
  let since = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (requests === 0) return;
    const counted = channels.size >= MAX_CHANNELS_COUNTED ? `${MAX_CHANNELS_COUNTED}+` : channels.size;
    log.info({ requests, messages, duplicates, channels: counted, seconds: Math.round((now() - since) / 1000) }, 'published');
    requests = 0;
    messages = 0;
    duplicates = 0;
    channels = new Set();
  };

  return {
    record(published, retried, names) {
      if (requests === 0) {
        since = now();
        // Ends the window; unref'd, so a quiet origin is not kept alive by it.
        timer = setTimeout(flush, intervalMs);
        timer.unref();
      }
      requests += 1;
      messages += published;
      duplicates += retried;
      if (channels.size < MAX_CHANNELS_COUNTED) for (const name of names) channels.add(name);
    },
    flush,
  };
}
