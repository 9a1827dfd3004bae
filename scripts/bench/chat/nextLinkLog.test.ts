import { describe, expect, it } from 'vitest';
import { logLineTime, NextLinkCounter } from './nextLinkLog.ts';

describe('NextLinkCounter', () => {
  it("counts the handler's next-link fetches per second after the start, sessions and distinct links", () => {
    const start = logLineTime('2026-12-07', '13:00:10.000');
    const counter = new NextLinkCounter(start);
    for (const line of [
      '[INFO] 2026-12-07 13:00:09.500 [handler] publish: ...',
      '[DEBUG] 2026-12-07 13:00:09.900 [handler] httpsession: next: /events/room-1/after/0',
      '[DEBUG] 2026-12-07 13:00:10.100 [handler] httpsession: next: /events/room-2/after/0',
      '[DEBUG] 2026-12-07 13:00:10.100 [handler] httpsession: next: /events/room-2/after/0',
      '[DEBUG] 2026-12-07 13:00:10.200 [handler] httpsession: next: /stream/room-2/after/0',
      '[DEBUG] 2026-12-07 13:00:11.000 [handler] httpsession: next: /events/room-3/after/1733500000000001',
      '[DEBUG] 2026-12-07 13:00:11.000 [proxy] httpsession: next: /not/the/handler',
      '[DEBUG] 2026-12-07 13:00:11.100 [handler] httpsession: publish queue at max, dropping',
      '[DEBUG] 2026-12-07 13:00:11.200 [handler] last ID inconsistency (got=1, expected=2), retrying',
    ]) counter.add(line);
    expect(counter.summary()).toEqual({
      perSecond: [
        { second: -1, sessions: 1, links: 1 },
        { second: 0, sessions: 3, links: 2 },
        { second: 1, sessions: 1, links: 1 },
      ],
      sessions: 5,
      links: 4,
      laterLinks: 1,
      queueDrops: 1,
      inconsistencies: 1,
      firstSecond: -1,
      lastSecond: 1,
    });
  });
});
