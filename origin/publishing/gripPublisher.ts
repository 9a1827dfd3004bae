// Sends GRIP publish items to every configured target (several Pushpins, or Fastly Fanout) in batched
// POST <control_uri>/publish/ requests that stay under the 64 KiB body limit, retrying transient failures.
// Shared by the origin and the publish CLI.
import { PublisherClient, type IGripConfig } from '@fanoutio/grip';
import { PUBLISH_BODY_LIMIT_BYTES, publishedItemBytes, type GripPublishItem } from './gripItems.ts';
import { createHttpPost, httpPostVia, type HttpPost } from './httpPost.ts';
import {
  DEFAULT_PUBLISH_RETRY_POLICY,
  describeGiveUp,
  firstAttemptTimeoutMs,
  nextRetry,
  parseRetryAfter,
  type PublishRetryPolicy,
} from './publishRetryPolicy.ts';

export { PUBLISH_BODY_LIMIT_BYTES };
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
  /** Another HTTP client (tests): by default node:http(s) with keep-alive agents (httpPost.ts). */
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

export interface PublishCallOptions {
  /** The retry deadline for this call, in place of the policy's (never below its minAttemptMs: one attempt at least). */
  deadlineMs?: number;
  /**
   * Called when an attempt got no answer in time (it timed out): the target may still act on that
   * request later, whatever the call ends with (a retry taken, or a give-up). An answer, a refused
   * connection or one the target closed is not reported: the target is done with that request.
   */
  onUnanswered?: () => void;
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
  /**
   * Sends bodies from encode() to every target, exactly as publish() sends them; `deadlineMs`
   * shortens the retry deadline of each (a caller that has waited already).
   */
  publishEncoded(requests: EncodedPublish, options?: PublishCallOptions): Promise<void>;
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
  const post: HttpPost = options.fetchImpl ? httpPostVia(options.fetchImpl) : createHttpPost();

  // Described once: a URL parse per request is measurable in bulk publishing.
  const described = new Map(clients.map((client) => [client, describeTarget(client)]));

  /** One request and its retries (nextRetry decides), bounded by the policy's deadline. */
  const postBatch = async (client: PublisherClient, body: string, itemCount: number, policy: PublishRetryPolicy, call: PublishCallOptions): Promise<void> => {
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
        const answer = await post(client.publishUri, { headers, body, timeoutMs });
        if (answer.status >= 200 && answer.status < 300) {
          options.onBatchPublished?.({ target, items: itemCount, bytes: Buffer.byteLength(body), attempts: attempt });
          return;
        }
        const text = answer.body.slice(0, 500);
        retryAfterMs = parseRetryAfter(answer.retryAfter, now());
        error = new PublishError(`${target} answered ${answer.status} ${answer.statusText}: ${text.trim()}`, target, answer.status, text);
      } catch (failure) {
        const code = (failure as { code?: string }).code ?? (failure as { cause?: { code?: string } }).cause?.code;
        const timedOut = (failure as Error).name === 'TimeoutError';
        if (timedOut) call.onUnanswered?.();
        error = new PublishError(
          `cannot reach ${target}: ${timedOut ? `no answer within ${timeoutMs} ms` : (code ?? (failure as Error).message)}`,
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

  const publishEncoded = async (bodies: EncodedPublish, call: PublishCallOptions = {}): Promise<void> => {
    if (bodies.length === 0) return;
    const callPolicy =
      call.deadlineMs === undefined ? policy : { ...policy, deadlineMs: Math.min(policy.deadlineMs, Math.max(policy.minAttemptMs, call.deadlineMs)) };
    await Promise.all(
      clients.map(async (client) => {
        for (const { body, items: count } of bodies) await postBatch(client, body, count, callPolicy, call);
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
