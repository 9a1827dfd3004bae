import { describe, expect, it } from 'vitest';
import type { GripPublishItem } from './gripItems.ts';
import {
  createGripPublisher,
  ItemTooLargeError,
  PUBLISH_BODY_LIMIT_BYTES,
  requestBodies,
  type PublishedBatchReport,
  type PublishRetryReport,
} from './gripPublisher.ts';

function item(n: number, contentBytes = 10): GripPublishItem {
  return { channel: `stream:c${n}`, formats: { 'http-stream': { content: 'x'.repeat(contentBytes) } } };
}

/** Records requests and answers from a list of statuses (then 200). */
function recordingFetch(statuses: number[] = []) {
  const requests: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: String(url), headers: init?.headers as Record<string, string>, body: String(init?.body) });
    return new Response('ok', { status: statuses.shift() ?? 200 });
  }) as typeof fetch;
  return { requests, fetchImpl };
}

describe('requestBodies', () => {
  it('one body per maxItems chunk when it fits', () => {
    const items = Array.from({ length: 25 }, (_, i) => item(i));
    const bodies = requestBodies(items, 10);
    expect(bodies.map((b) => b.items)).toEqual([10, 10, 5]);
    expect(JSON.parse(bodies[0]!.body)).toEqual({ items: items.slice(0, 10) });
  });

  it('splits a chunk over the body limit, each body under it, keeping order', () => {
    const items = Array.from({ length: 10 }, (_, i) => item(i, 20_000));
    const bodies = requestBodies(items, 100);
    expect(bodies.length).toBeGreaterThan(3);
    for (const { body } of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(PUBLISH_BODY_LIMIT_BYTES);
    expect(bodies.flatMap((b) => (JSON.parse(b.body) as { items: GripPublishItem[] }).items)).toEqual(items);
  });

  it('refuses a single item over the limit', () => {
    expect(() => requestBodies([item(1, PUBLISH_BODY_LIMIT_BYTES)], 10)).toThrow(ItemTooLargeError);
  });
});

describe('createGripPublisher', () => {
  it('sends Fastly-Key (and no Authorization) to a target with fastlyKey; Bearer for key=', async () => {
    const { requests, fetchImpl } = recordingFetch();
    const publisher = createGripPublisher(
      [
        { control_uri: 'https://api.fastly.com/service/abc', fastlyKey: 'fastly-token' },
        { control_uri: 'http://127.0.0.1:5561', key: 'bearer-token' },
      ],
      { fetchImpl },
    );
    await publisher.publish([item(1)]);
    const byUrl = Object.fromEntries(requests.map((r) => [r.url, r.headers]));
    expect(byUrl['https://api.fastly.com/service/abc/publish/']).toEqual({
      'Content-Type': 'application/json',
      'Fastly-Key': 'fastly-token',
    });
    expect(byUrl['http://127.0.0.1:5561/publish/']).toEqual({
      'Content-Type': 'application/json',
      Authorization: 'Bearer bearer-token',
    });
    expect(publisher.targets).toEqual(['https://api.fastly.com/service/abc/publish/', 'http://127.0.0.1:5561/publish/']);
  });

  it('reports each accepted request and each retry', async () => {
    const { requests, fetchImpl } = recordingFetch([503]);
    const published: PublishedBatchReport[] = [];
    const retries: PublishRetryReport[] = [];
    const publisher = createGripPublisher([{ control_uri: 'http://127.0.0.1:5561' }], {
      fetchImpl,
      baseDelayMs: 1,
      maxItemsPerRequest: 2,
      onBatchPublished: (report) => published.push(report),
      onRetry: (report) => retries.push(report),
    });
    await publisher.publish([item(1), item(2), item(3)]);
    expect(requests).toHaveLength(3);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 2, attempts: 4, error: { status: 503 } });
    expect(published.map((p) => [p.items, p.attempts])).toEqual([
      [2, 2],
      [1, 1],
    ]);
    expect(published[0]!.bytes).toBe(Buffer.byteLength(requests[0]!.body));
  });
});
