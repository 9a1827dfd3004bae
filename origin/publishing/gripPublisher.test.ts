// The publisher against real local HTTP servers standing in for GRIP publish endpoints: batching under
// the body limit, every target served, transient failures retried, permanent ones reported clearly.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeItemsForChannel, itemsForStoredMessage, type GripPublishItem } from './gripItems.ts';
import {
  batchItems,
  createGripPublisher,
  ItemTooLargeError,
  PUBLISH_BODY_LIMIT_BYTES,
  PublishError,
  requestBodies,
  type PublishedBatchReport,
  type PublishRetryReport,
} from './gripPublisher.ts';

interface FakeTarget {
  url: string;
  bodies: Array<{ items: GripPublishItem[] }>;
  paths: string[];
  server: Server;
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** `answers` are the status codes for successive requests; 200 after they run out. */
async function fakeTarget(answers: number[] = []): Promise<FakeTarget> {
  const target: FakeTarget = { url: '', bodies: [], paths: [], server: createServer() };
  target.server.on('request', (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      target.paths.push(req.url ?? '');
      const status = answers.shift() ?? 200;
      if (status === 200) target.bodies.push(JSON.parse(Buffer.concat(chunks).toString()) as { items: GripPublishItem[] });
      res.writeHead(status).end(status === 200 ? 'Published\n' : `failure ${status}`);
    });
  });
  await new Promise<void>((resolve) => target.server.listen(0, '127.0.0.1', resolve));
  servers.push(target.server);
  target.url = `http://127.0.0.1:${(target.server.address() as AddressInfo).port}`;
  return target;
}

const message = (id: number, data: unknown = id) => ({ id: String(id), channel: 'c', data, ts: 1 });

describe('batching', () => {
  it('keeps every batch under the body limit and the item cap', () => {
    const items = Array.from({ length: 50 }, (_, n) => itemsForStoredMessage(message(n + 1, 'x'.repeat(5000)), String(n))).flat();
    const batches = batchItems(items, 30);
    expect(batches.flat()).toEqual(items);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(30);
      expect(Buffer.byteLength(JSON.stringify({ items: batch }))).toBeLessThanOrEqual(PUBLISH_BODY_LIMIT_BYTES);
    }
  });

  it('refuses an item that can never fit', () => {
    expect(() => batchItems(itemsForStoredMessage(message(1, 'x'.repeat(70_000)), '0'), 10)).toThrow(ItemTooLargeError);
  });
});

describe('publishing', () => {
  it('sends every batch to every target at <control_uri>/publish/', async () => {
    const [a, b] = await Promise.all([fakeTarget(), fakeTarget()]);
    const publisher = createGripPublisher([{ control_uri: a!.url }, { control_uri: b!.url }], { maxItemsPerRequest: 4 });
    await publisher.publish([...itemsForStoredMessage(message(1), '0'), ...itemsForStoredMessage(message(2), '1')]);
    for (const target of [a!, b!]) {
      expect(target.paths).toEqual(['/publish/', '/publish/']);
      expect(target.bodies.flatMap((body) => body.items).map((i) => `${i.channel}#${i.id}`)).toEqual([
        'history:sse:c#1', 'history:stream:c#1', 'ws:c#1',
        'history:sse:c#2', 'history:stream:c#2', 'ws:c#2',
      ]);
    }
  });

  it('retries transient failures (5xx, 429) with backoff', async () => {
    const target = await fakeTarget([503, 429]);
    await createGripPublisher([{ control_uri: target.url }], { baseDelayMs: 1 }).publish(closeItemsForChannel('c'));
    expect(target.paths).toHaveLength(3);
    expect(target.bodies).toHaveLength(1);
  });

  it('reports a permanent failure at once, naming the target and status', async () => {
    const target = await fakeTarget([400]);
    const error = await createGripPublisher([{ control_uri: target.url }], { baseDelayMs: 1 })
      .publish(closeItemsForChannel('c'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ status: 400, target: `${target.url}/publish/` });
    expect((error as Error).message).toMatch(/answered 400.*failure 400/);
    expect(target.paths).toHaveLength(1);
  });

  it('reports an unreachable target after its attempts', async () => {
    const target = await fakeTarget();
    target.server.close();
    await new Promise((r) => setTimeout(r, 50));
    const error = await createGripPublisher([{ control_uri: target.url }], { baseDelayMs: 1, attempts: 2 })
      .publish(closeItemsForChannel('c'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as Error).message).toMatch(/cannot reach .*ECONNREFUSED/);
  });

  it('reports each attempt that got no answer in time (the target may still act on it), and no other failure', async () => {
    // A target that reads the request and never answers: every attempt times out.
    const silent = createServer((req) => req.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    servers.push(silent);
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const refusing = await fakeTarget([503, 503]);
    const closed = await fakeTarget();
    closed.server.close();
    const policy = { attemptTimeoutMs: 50, deadlineMs: 2000, minAttemptMs: 10, baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 };
    const unansweredFrom = async (url: string) => {
      let unanswered = 0;
      const publisher = createGripPublisher([{ control_uri: url }], { retryPolicy: policy });
      await publisher
        .publishEncoded(publisher.encode(closeItemsForChannel('c')), { onUnanswered: () => unanswered++ })
        .catch(() => {});
      return unanswered;
    };
    expect(await unansweredFrom(silentUrl)).toBe(2);
    expect(await unansweredFrom(refusing.url)).toBe(0);
    expect(await unansweredFrom(closed.url)).toBe(0);
  });
});

// Request bodies, Fastly-Key and progress reports (added for the publish CLI).
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
    expect(retries[0]).toMatchObject({ attempt: 2, attempts: 30, error: { status: 503 } });
    expect(published.map((p) => [p.items, p.attempts])).toEqual([
      [2, 2],
      [1, 1],
    ]);
    expect(published[0]!.bytes).toBe(Buffer.byteLength(requests[0]!.body));
  });

  it('encode + publishEncoded sends the very bodies publish sends', async () => {
    const items = Array.from({ length: 5 }, (_, i) => item(i));
    const direct = recordingFetch();
    await createGripPublisher([{ control_uri: 'http://127.0.0.1:5561' }], { fetchImpl: direct.fetchImpl, maxItemsPerRequest: 2 }).publish(items);
    const encoded = recordingFetch();
    const publisher = createGripPublisher([{ control_uri: 'http://127.0.0.1:5561' }], { fetchImpl: encoded.fetchImpl, maxItemsPerRequest: 2 });
    const requests = publisher.encode(items);
    expect(encoded.requests).toHaveLength(0);
    await publisher.publishEncoded(requests);
    expect(encoded.requests).toEqual(direct.requests);
    expect(encoded.requests.map((r) => (JSON.parse(r.body) as { items: unknown[] }).items.length)).toEqual([2, 2, 1]);
    expect(publisher.encode([])).toEqual([]);
    expect(() => publisher.encode([item(1, PUBLISH_BODY_LIMIT_BYTES)])).toThrow(ItemTooLargeError);
  });
});

