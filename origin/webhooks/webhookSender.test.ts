import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HttpPost, PostAnswer } from '../publishing/httpPost.ts';
import type { PresenceChange } from '../presence/presenceStore.ts';
import { createWebhookSender, DEFAULT_WEBHOOK_SETTINGS, webhookRetryDelayMs, type WebhookBody, type WebhookSettings } from './webhookSender.ts';
import { verifyWebhook, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER } from './webhookSignature.ts';

const SECRET = 'a-webhook-secret-of-at-least-32-bytes!!';
const SETTINGS: WebhookSettings = { ...DEFAULT_WEBHOOK_SETTINGS, urls: ['https://hooks.example/a'], secret: SECRET };
const change = (type: PresenceChange['type'], channel = 'c', extra: Partial<PresenceChange> = {}): PresenceChange => ({ type, channel, ts: 1, ...extra });

describe('webhook sender', () => {
  let posts: Array<{ url: string; headers: Record<string, string>; body: WebhookBody; raw: string; at: number }>;
  let answers: Array<PostAnswer | Error>;
  let failed: unknown[];
  const post: HttpPost = async (url, request) => {
    posts.push({ url, headers: request.headers, body: JSON.parse(request.body) as WebhookBody, raw: request.body, at: Date.now() });
    const next = answers.shift() ?? { status: 204, statusText: '', retryAfter: null, body: '' };
    if (next instanceof Error) throw next;
    return next;
  };
  const status = (code: number, retryAfter: string | null = null): PostAnswer => ({ status: code, statusText: '', retryAfter, body: '' });

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    posts = [];
    answers = [];
    failed = [];
  });
  afterEach(() => vi.useRealTimers());

  it('sends what arrives within the batch time as one signed request, to every URL', async () => {
    const sender = createWebhookSender({ ...SETTINGS, urls: ['https://hooks.example/a', 'https://hooks.example/b'] }, post);
    sender.enqueue([change('channel_occupied'), change('member_added', 'c', { clientId: 'ann', info: { n: 1 } })]);
    await vi.advanceTimersByTimeAsync(100);
    sender.enqueue([change('member_removed', 'c', { clientId: 'ann', reason: 'expired' })]);
    expect(posts).toEqual([]);
    await vi.advanceTimersByTimeAsync(400);
    expect(posts.map((p) => p.url)).toEqual(['https://hooks.example/a', 'https://hooks.example/b']);
    expect(posts[0]!.body).toEqual({
      time_ms: 1_800_000_000_500,
      events: [
        { name: 'channel_occupied', channel: 'c', ts: 1 },
        { name: 'member_added', channel: 'c', clientId: 'ann', info: { n: 1 }, ts: 1 },
        { name: 'member_removed', channel: 'c', clientId: 'ann', reason: 'expired', ts: 1 },
      ],
    });
    expect(verifyWebhook(SECRET, posts[0]!.raw, posts[0]!.headers[WEBHOOK_SIGNATURE_HEADER], 1_800_000_000)).toBe(true);
    expect(posts[0]!.headers[WEBHOOK_ID_HEADER]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('retries a failed batch with backoff (same id, signed anew), honours Retry-After, and keeps later events in order behind it', async () => {
    const sender = createWebhookSender(SETTINGS, post, { random: () => 0.5 });
    answers = [status(503), new Error('ECONNRESET'), status(429, '7'), status(200)];
    sender.enqueue([change('channel_occupied', 'a')]);
    await vi.advanceTimersByTimeAsync(500);
    sender.enqueue([change('channel_occupied', 'b')]);
    await vi.advanceTimersByTimeAsync(60_000);
    const first = posts.filter((p) => p.body.events[0]!.channel === 'a');
    expect(first).toHaveLength(4);
    expect(new Set(first.map((p) => p.headers[WEBHOOK_ID_HEADER])).size).toBe(1);
    // Waits: 0.5 x 1 s, 0.5 x 2 s, then Retry-After's 7 s (above 0.5 x 4 s).
    expect(first.slice(1).map((p, i) => p.at - first[i]!.at)).toEqual([500, 1000, 7000]);
    for (const p of first) expect(verifyWebhook(SECRET, p.raw, p.headers[WEBHOOK_SIGNATURE_HEADER], Math.floor(p.at / 1000))).toBe(true);
    const rest = posts.slice(4);
    expect(rest.map((p) => p.body.events.map((e) => e.channel))).toEqual([['b']]);
  });

  it('gives a batch up after maxAttempts or at once on a refusal, and reports it', async () => {
    const observe = { failed: (...args: unknown[]) => failed.push(args) };
    const sender = createWebhookSender({ ...SETTINGS, maxAttempts: 3 }, post, { random: () => 0, observe });
    answers = [status(500), status(500), status(500), status(400)];
    sender.enqueue([change('channel_occupied', 'a')]);
    await vi.advanceTimersByTimeAsync(1000);
    sender.enqueue([change('channel_occupied', 'b')]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(posts.map((p) => p.body.events[0]!.channel)).toEqual(['a', 'a', 'a', 'b']);
    expect(failed).toEqual([
      ['https://hooks.example/a', 1, 500, 'HTTP 500'],
      ['https://hooks.example/a', 1, 400, 'HTTP 400'],
    ]);
  });

  it('never makes the caller wait, batches at most maxBatchEvents, and bounds what waits', async () => {
    let release!: () => void;
    const hanging: HttpPost = async (url, request) => {
      posts.push({ url, headers: request.headers, body: JSON.parse(request.body) as WebhookBody, raw: request.body, at: Date.now() });
      await new Promise<void>((r) => (release = r));
      return status(200);
    };
    const dropped: number[] = [];
    const sender = createWebhookSender({ ...SETTINGS, maxBatchEvents: 2, maxQueuedEvents: 5 }, hanging, { observe: { dropped: (_u, n) => dropped.push(n) } });
    sender.enqueue([1, 2, 3].map((i) => change('channel_occupied', `c${i}`)));
    await vi.advanceTimersByTimeAsync(500);
    expect(posts.map((p) => p.body.events.length)).toEqual([2]);
    // The receiver hangs: enqueueing goes on at once, and the queue keeps the newest 5.
    sender.enqueue([4, 5, 6, 7, 8].map((i) => change('channel_occupied', `c${i}`)));
    expect(dropped).toEqual([1]);
    release();
    await vi.advanceTimersByTimeAsync(0);
    release();
    await vi.advanceTimersByTimeAsync(0);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(posts.map((p) => p.body.events.map((e) => e.channel))).toEqual([['c1', 'c2'], ['c4', 'c5'], ['c6', 'c7'], ['c8']]);
    sender.stop();
  });

  it('waits with full jitter under a doubling ceiling', () => {
    const s = { baseDelayMs: 1000, maxDelayMs: 60_000 };
    expect([1, 2, 3, 10].map((r) => webhookRetryDelayMs(s, r, 0.999))).toEqual([999, 1998, 3996, 59_940]);
    expect(webhookRetryDelayMs(s, 1, 0, 5000)).toBe(5000);
    expect(webhookRetryDelayMs(s, 1, 0, 600_000)).toBe(60_000);
  });
});
