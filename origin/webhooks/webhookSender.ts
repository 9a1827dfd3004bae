// Channel events to webhooks (WEBHOOK_URLS): channel_occupied, channel_vacated, member_added,
// member_removed, as the presence tracker reports them. Batched (what arrives within `batchMs`, at
// most `maxBatchEvents` a request), signed (webhookSignature.ts), and retried with exponential backoff
// and jitter (honouring Retry-After) until a 2xx or `maxAttempts`; batches go to each URL one at a
// time, in order. Enqueueing only appends to a bounded queue: nothing the origin does (a publish, a
// WebSocket request) ever waits for a webhook. Several origins each send the changes they made.
import { randomUUID } from 'node:crypto';
import type { HttpPost } from '../publishing/httpPost.ts';
import type { PresenceChange } from '../presence/presenceStore.ts';
import { signWebhook, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER } from './webhookSignature.ts';

/** One event as a webhook receives it (Pusher's shape: `name`, `channel`, and what the event has). */
export interface WebhookEvent {
  name: PresenceChange['type'];
  channel: string;
  clientId?: string;
  info?: Record<string, unknown>;
  /** member_removed, channel_vacated: 'left' (it said so) or 'expired' (its lease lapsed). */
  reason?: string;
  /** When the origin saw it happen (ms since the epoch). */
  ts: number;
}

/** The request body: `time_ms` when it was sent first, the events in the order they happened. */
export interface WebhookBody {
  time_ms: number;
  events: WebhookEvent[];
}

export function webhookEventOf(change: PresenceChange): WebhookEvent {
  return {
    name: change.type,
    channel: change.channel,
    ...(change.clientId !== undefined ? { clientId: change.clientId } : {}),
    ...(change.info !== undefined ? { info: change.info } : {}),
    ...(change.reason !== undefined ? { reason: change.reason } : {}),
    ts: change.ts,
  };
}

export interface WebhookSettings {
  urls: string[];
  secret: string;
  /** Events are collected this long before a request goes (a burst becomes one request). */
  batchMs: number;
  maxBatchEvents: number;
  /** Events waiting per URL at most; past it the oldest are dropped (reported). */
  maxQueuedEvents: number;
  maxAttempts: number;
  /** The first retry waits up to this (full jitter), doubling each retry up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  attemptTimeoutMs: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: Omit<WebhookSettings, 'urls' | 'secret'> = {
  batchMs: 500,
  maxBatchEvents: 100,
  maxQueuedEvents: 10_000,
  maxAttempts: 8,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  attemptTimeoutMs: 10_000,
};

export interface WebhookObserver {
  sent?(url: string, events: number, attempts: number): void;
  /** A batch given up: its last status (undefined: no answer) and why. */
  failed?(url: string, events: number, status: number | undefined, detail: string): void;
  /** Events dropped because the URL's queue was full. */
  dropped?(url: string, events: number): void;
}

export interface WebhookSender {
  /** Queues the changes for every URL (returns at once). */
  enqueue(changes: PresenceChange[]): void;
  /** Stops sending (what is queued is dropped). */
  stop(): void;
}

/** A webhook URL as logs may show it: no credentials, no query (either may hold a secret). */
export function webhookUrlForLog(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** The wait before retry `retry` (1, 2, ...): full jitter under an exponential ceiling, at least Retry-After. */
export function webhookRetryDelayMs(settings: Pick<WebhookSettings, 'baseDelayMs' | 'maxDelayMs'>, retry: number, random: number, retryAfterMs?: number): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (retry - 1));
  return Math.max(Math.floor(random * ceiling), Math.min(retryAfterMs ?? 0, settings.maxDelayMs));
}

/** 2xx is delivered; 4xx but 408 and 429 means the receiver will not take it (no retry). */
function retryable(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

interface Target {
  url: string;
  queue: WebhookEvent[];
  /** The batch wait (set while events wait for their request). */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** A retry's backoff. */
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  sending: boolean;
}

export function createWebhookSender(
  settings: WebhookSettings,
  post: HttpPost,
  options: { observe?: WebhookObserver; now?: () => number; random?: () => number } = {},
): WebhookSender {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const targets: Target[] = settings.urls.map((url) => ({ url, queue: [], timer: undefined, retryTimer: undefined, sending: false }));
  let stopped = false;
  const sleep = (target: Target, ms: number) =>
    new Promise<void>((resolve) => {
      target.retryTimer = setTimeout(() => {
        target.retryTimer = undefined;
        resolve();
      }, ms);
      target.retryTimer.unref();
    });

  const sendBatch = async (target: Target, events: WebhookEvent[]): Promise<void> => {
    const body = JSON.stringify({ time_ms: now(), events } satisfies WebhookBody);
    const id = randomUUID();
    let status: number | undefined;
    let detail = '';
    for (let attempt = 1; attempt <= settings.maxAttempts && !stopped; attempt++) {
      let wait: number | undefined;
      try {
        const answer = await post(target.url, {
          headers: {
            'Content-Type': 'application/json',
            'User-Agent': 'fanout-forward-webhooks',
            [WEBHOOK_ID_HEADER]: id,
            [WEBHOOK_SIGNATURE_HEADER]: signWebhook(settings.secret, body, Math.floor(now() / 1000)),
          },
          body,
          timeoutMs: settings.attemptTimeoutMs,
        });
        status = answer.status;
        if (status >= 200 && status < 300) {
          options.observe?.sent?.(target.url, events.length, attempt);
          return;
        }
        detail = `HTTP ${status}`;
        wait = retryAfterMs(answer.retryAfter);
      } catch (error) {
        status = undefined;
        detail = (error as Error).message;
      }
      if (!retryable(status) || attempt === settings.maxAttempts) break;
      await sleep(target, webhookRetryDelayMs(settings, attempt, random(), wait));
    }
    if (!stopped) options.observe?.failed?.(target.url, events.length, status, detail);
  };

  const drain = async (target: Target): Promise<void> => {
    target.timer = undefined;
    if (target.sending || stopped) return;
    target.sending = true;
    try {
      while (target.queue.length > 0 && !stopped) await sendBatch(target, target.queue.splice(0, settings.maxBatchEvents));
    } finally {
      target.sending = false;
    }
  };

  return {
    enqueue(changes) {
      if (stopped || changes.length === 0) return;
      const events = changes.map(webhookEventOf);
      for (const target of targets) {
        target.queue.push(...events);
        const over = target.queue.length - settings.maxQueuedEvents;
        if (over > 0) {
          target.queue.splice(0, over);
          options.observe?.dropped?.(target.url, over);
        }
        // A batch waits batchMs for more; one already sending takes the rest when it is done.
        if (!target.sending && target.timer === undefined) {
          target.timer = setTimeout(() => void drain(target), settings.batchMs);
          target.timer.unref();
        }
      }
    },
    stop() {
      stopped = true;
      for (const target of targets) {
        if (target.timer !== undefined) clearTimeout(target.timer);
        if (target.retryTimer !== undefined) clearTimeout(target.retryTimer);
        target.queue.length = 0;
      }
    },
  };
}
