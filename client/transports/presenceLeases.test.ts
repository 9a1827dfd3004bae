import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPresenceLeases, LEASE_RETRY_MS, randomLeaseId } from './presenceLeases.ts';
import type { FetchLike, ResponseLike } from './runtimeApis.ts';
import { isLeaseId } from '../../protocol/index.ts';

const answer = (status: number, body: unknown): ResponseLike => ({
  status,
  headers: { get: () => 'application/json' },
  body: null,
  json: async () => body,
  text: async () => JSON.stringify(body),
});

describe('presence leases of HTTP subscriptions', () => {
  let calls: Array<{ method: string; url: string; body?: unknown; auth?: string }>;
  let reply: (method: string) => ResponseLike | Error;
  let refused: Array<[number, string]>;
  let ids: number;
  const fetch: FetchLike = async (url, init) => {
    calls.push({ method: init.method ?? 'GET', url, ...(init.body ? { body: JSON.parse(init.body) as unknown } : {}), ...(init.headers.Authorization ? { auth: init.headers.Authorization } : {}) });
    const r = reply(init.method ?? 'GET');
    if (r instanceof Error) throw r;
    return r;
  };
  const leases = () =>
    createPresenceLeases({ fetch, base: 'https://example.com/app/', headers: {}, refused: (sub, code) => refused.push([sub, code]), newLeaseId: () => `lease-id-0000000${++ids}` });
  const room = { channel: 'private-room', enter: true, token: () => 'tok' };
  const flush = () => vi.advanceTimersByTimeAsync(0);

  beforeEach(() => {
    vi.useFakeTimers();
    calls = [];
    refused = [];
    ids = 0;
    reply = (method) => (method === 'PUT' ? answer(200, { channel: 'private-room', leaseId: 'lease-id-00000001', expiresInMs: 3000, renewInMs: 1000 }) : answer(204, {}));
  });
  afterEach(() => vi.useRealTimers());

  it('takes a lease once subscribed, renews it as told, keeps it through a reconnect, moves it with the transport, and gives it up', async () => {
    const l = leases();
    l.follow(1, 'connecting', 'sse', room);
    await flush();
    expect(calls).toEqual([]);
    l.follow(1, 'open', 'sse', room);
    await flush();
    expect(calls).toEqual([{ method: 'PUT', url: 'https://example.com/app/api/channels/private-room/presence/leases/lease-id-00000001', body: { transport: 'sse', presence: true }, auth: 'Bearer tok' }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(2);
    l.follow(1, 'reconnecting', 'sse', room);
    l.follow(1, 'open', 'sse', room);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(2);
    l.follow(1, 'open', 'poll', room);
    await flush();
    expect(calls.slice(2).map((c) => `${c.method} ${c.url.split('/').at(-1)} ${JSON.stringify(c.body ?? '')}`)).toEqual([
      'DELETE lease-id-00000001 ""',
      'PUT lease-id-00000002 {"transport":"poll","presence":true}',
    ]);
    l.follow(1, 'open', 'websocket', room);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls.slice(4).map((c) => c.method)).toEqual(['DELETE']);
  });

  it('tries again after a failure, and stops for good when refused', async () => {
    const l = leases();
    reply = () => new Error('offline');
    l.follow(1, 'open', 'stream', { ...room, enter: false });
    await flush();
    await vi.advanceTimersByTimeAsync(LEASE_RETRY_MS);
    expect(calls.map((c) => c.method)).toEqual(['PUT', 'PUT']);
    reply = () => answer(403, { error: 'presence_refused', message: 'no sub' });
    l.follow(2, 'open', 'stream', room);
    await flush();
    expect(refused).toEqual([[2, 'presence_refused']]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.filter((c) => c.url.endsWith('lease-id-00000002'))).toHaveLength(1);
    l.close();
  });

  it('makes lease ids the origin takes', () => {
    const made = new Set(Array.from({ length: 200 }, randomLeaseId));
    expect(made.size).toBe(200);
    for (const id of made) expect(isLeaseId(id)).toBe(true);
  });
});
