// Sends GRIP publish items to every configured target (several Pushpins, or Fastly Fanout) in batched
// POST <control_uri>/publish/ requests that stay under the 64 KiB body limit, retrying transient failures.
// Shared by the origin and the publish CLI.
import { PublisherClient, type IGripConfig } from '@fanoutio/grip';
import { publishedItemBytes, type GripPublishItem } from './gripItems.ts';
import {
  DEFAULT_PUBLISH_RETRY_POLICY,
  describeGiveUp,
  firstAttemptTimeoutMs,
  nextRetry,
  parseRetryAfter,
  type PublishRetryPolicy,
} from './publishRetryPolicy.ts';

/** Fanout's (and the local Pushpin's) publish body limit. */
export const PUBLISH_BODY_LIMIT_BYTES = 65536;
const ENVELOPE_BYTES = '{"items":[]}'.length;

/** A GRIP target; `fastlyKey` sends the Fastly API's own `Fastly-Key` header (instead of Authorization). */
export interface GripTarget extends IGripConfig {
  fastlyKey?: string;
}

/** One request every target accepted, for progress reports. */
export interface PublishedBatchReport {
  target: string;
  items: number;
  bytes: number;
  attempts: number;
}

/** A failed attempt about to be retried. */
export interface PublishRetryReport {
  target: string;
  attempt: number;
  attempts: number;
  /** The wait before this attempt (backoff with jitter, at least the target's Retry-After). */
  delayMs: number;
  error: PublishError;
}

export interface GripPublisherOptions {
  /** Upper bound on items in one request. */
  maxItemsPerRequest?: number;
  /** Attempts per request for network errors, 408, 429 and 5xx (retryPolicy.maxAttempts). */
  attempts?: number;
  /** retryPolicy.baseDelayMs */
  baseDelayMs?: number;
  /** One request's timeout (retryPolicy.attemptTimeoutMs). */
  timeoutMs?: number;
  /** Over DEFAULT_PUBLISH_RETRY_POLICY (and the three shorthands above). */
  retryPolicy?: Partial<PublishRetryPolicy>;
  /** For tests: the jitter's randomness and the clock. */
  random?: () => number;
  now?: () => number;
  fetchImpl?: typeof fetch;
  onBatchPublished?: (report: PublishedBatchReport) => void;
  onRetry?: (report: PublishRetryReport) => void;
}

export class PublishError extends Error {
  override name = 'PublishError';
  constructor(
    message: string,
    readonly target: string,
    readonly status: number | undefined,
    readonly responseBody: string | undefined,
    options?: { cause?: unknown },
    /** Set when retries stopped: how many attempts over how long, and why they stopped. */
    readonly gaveUp?: string,
  ) {
    super(message, options);
  }
}

export class ItemTooLargeError extends Error {
  override name = 'ItemTooLargeError';
  constructor(
    readonly channel: string,
    readonly bytes: number,
  ) {
    super(
      `item for ${channel} is ${bytes} bytes in the publish request, over the ${PUBLISH_BODY_LIMIT_BYTES}-byte limit`,
    );
  }
}

/** Request bodies serialised ahead of sending (see GripPublisher.encode). */
export type EncodedPublish = ReadonlyArray<{ body: string; items: number }>;

export interface GripPublisher {
  /** Publishes every item to every target; resolves when all targets accepted them. */
  publish(items: GripPublishItem[]): Promise<void>;
  /**
   * The request bodies publish(items) would send, serialised now: a caller that keeps a request in
   * flight can encode the next one meanwhile. Throws ItemTooLargeError as publish would reject.
   */
  encode(items: GripPublishItem[]): EncodedPublish;
  /** Sends bodies from encode() to every target, exactly as publish() sends them. */
  publishEncoded(requests: EncodedPublish): Promise<void>;
  readonly targets: readonly string[];
}

/** Groups items into request bodies, each under the body limit and the item cap. */
export function batchItems(items: GripPublishItem[], maxItems: number): GripPublishItem[][] {
  const batches: GripPublishItem[][] = [];
  let current: GripPublishItem[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const item of items) {
    const size = publishedItemBytes(item) + 1;
    if (size + ENVELOPE_BYTES > PUBLISH_BODY_LIMIT_BYTES) throw new ItemTooLargeError(item.channel, size - 1);
    if (current.length > 0 && (bytes + size > PUBLISH_BODY_LIMIT_BYTES || current.length >= maxItems)) {
      batches.push(current);
      current = [];
      bytes = ENVELOPE_BYTES;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * The request bodies for `items`: chunks of `maxItems`, each serialised once; only a chunk over the
 * body limit is split by measuring its items (so the usual case costs one JSON.stringify per request).
 */
export function requestBodies(items: GripPublishItem[], maxItems: number): Array<{ body: string; items: number }> {
  const bodies: Array<{ body: string; items: number }> = [];
  for (let start = 0; start < items.length; start += maxItems) {
    const chunk = items.slice(start, start + maxItems);
    const body = JSON.stringify({ items: chunk });
    if (Buffer.byteLength(body) <= PUBLISH_BODY_LIMIT_BYTES) {
      bodies.push({ body, items: chunk.length });
      continue;
    }
    for (const batch of batchItems(chunk, maxItems)) bodies.push({ body: JSON.stringify({ items: batch }), items: batch.length });
  }
  return bodies;
}

/** The publish URL without credentials, for logs and errors: tokens are never printed. */
function describeTarget(client: PublisherClient): string {
  const url = new URL(client.publishUri);
  url.username = '';
  url.password = '';
  url.search = '';
  return url.toString();
}

export function createGripPublisher(targets: GripTarget[], options: GripPublisherOptions = {}): GripPublisher {
  if (targets.length === 0) throw new Error('at least one GRIP target is required');
  const clients = targets.map((target) => new PublisherClient(target));
  const fastlyKeys = new Map(clients.map((client, i) => [client, targets[i]!.fastlyKey]));
  const maxItems = options.maxItemsPerRequest ?? 100;
  const policy: PublishRetryPolicy = {
    ...DEFAULT_PUBLISH_RETRY_POLICY,
    ...(options.attempts !== undefined ? { maxAttempts: options.attempts } : {}),
    ...(options.baseDelayMs !== undefined ? { baseDelayMs: options.baseDelayMs } : {}),
    ...(options.timeoutMs !== undefined ? { attemptTimeoutMs: options.timeoutMs } : {}),
    ...options.retryPolicy,
  };
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetchImpl ?? fetch;

  // Described once: a URL parse per request is measurable in bulk publishing.
  const described = new Map(clients.map((client) => [client, describeTarget(client)]));

  /** One request and its retries (nextRetry decides), bounded by the policy's deadline. */
  const postBatch = async (client: PublisherClient, body: string, itemCount: number): Promise<void> => {
    const target = described.get(client)!;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    const auth = await client.getAuth()?.buildHeader();
    if (auth) headers.Authorization = auth;
    const fastlyKey = fastlyKeys.get(client);
    if (fastlyKey) headers['Fastly-Key'] = fastlyKey;
    const started = now();
    let timeoutMs = firstAttemptTimeoutMs(policy);
    for (let attempt = 1; ; attempt++) {
      let error: PublishError;
      let retryAfterMs: number | undefined;
      try {
        const response = await fetchImpl(client.publishUri, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.ok) {
          await response.arrayBuffer();
          options.onBatchPublished?.({ target, items: itemCount, bytes: Buffer.byteLength(body), attempts: attempt });
          return;
        }
        const text = (await response.text()).slice(0, 500);
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
        error = new PublishError(
          `${target} answered ${response.status} ${response.statusText}: ${text.trim()}`,
          target,
          response.status,
          text,
        );
      } catch (failure) {
        const cause = (failure as { cause?: { code?: string } }).cause;
        const timedOut = (failure as Error).name === 'TimeoutError';
        error = new PublishError(
          `cannot reach ${target}: ${timedOut ? `no answer within ${timeoutMs} ms` : (cause?.code ?? (failure as Error).message)}`,
          target,
          undefined,
          undefined,
          { cause: failure },
        );
      }
      const elapsedMs = now() - started;
      const decision = nextRetry(
        policy,
        { attempt, elapsedMs, ...(error.status !== undefined ? { status: error.status } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
        random,
      );
      if (!decision.retry) {
        if (decision.reason === 'permanent') throw error;
        throw new PublishError(error.message, target, error.status, error.responseBody, { cause: error.cause }, describeGiveUp(decision.reason, attempt, elapsedMs));
      }
      options.onRetry?.({ target, attempt: attempt + 1, attempts: policy.maxAttempts, delayMs: decision.delayMs, error });
      await new Promise((r) => setTimeout(r, decision.delayMs));
      timeoutMs = decision.timeoutMs;
    }
  };

  const publishEncoded = async (bodies: EncodedPublish): Promise<void> => {
    if (bodies.length === 0) return;
    await Promise.all(
      clients.map(async (client) => {
        for (const { body, items: count } of bodies) await postBatch(client, body, count);
      }),
    );
  };

  return {
    targets: clients.map((client) => described.get(client)!),
    async publish(items) {
      if (items.length === 0) return;
      await publishEncoded(requestBodies(items, maxItems));
    },
    encode: (items) => (items.length === 0 ? [] : requestBodies(items, maxItems)),
    publishEncoded,
  };
}
