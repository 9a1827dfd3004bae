// The two ways a batch of messages leaves the CLI. To a GRIP proxy (local Pushpin, Fastly, GRIP URLs):
// framed here for every transport's live channel with the origin's own liveItemsForMessage (no id:
// the message is not in the history), then sent by the shared createGripPublisher. To the origin:
// POST /api/publish, which stores, numbers and frames them itself, and POST
// /api/channels/:channel/close.
import {
  closeItemsForChannel,
  liveItemsForMessage,
  publishedItemBytes,
  type GripPublishItem,
} from '../../origin/publishing/gripItems.ts';
import {
  createGripPublisher,
  PUBLISH_BODY_LIMIT_BYTES,
  PublishError,
  type PublishRetryReport,
} from '../../origin/publishing/gripPublisher.ts';
import { PublishInputError, validatePublishInput } from '../../origin/publishing/publishInput.ts';
import { DEFAULT_PUBLISH_RETRY_POLICY } from '../../origin/publishing/publishRetryPolicy.ts';
import type { OutgoingMessage } from './messageInput.ts';
import type { PublishTuning } from './publishCommand.ts';
import { closeEndpoint, type ResolvedTarget } from './publishTargets.ts';

/** A message checked and framed, ready to join a batch. */
export interface PreparedMessage {
  channel: string;
  /** The id subscribers will see, when known before sending (the origin assigns its own). */
  id?: string;
  items: GripPublishItem[];
  /** For the origin: the API item. */
  apiItem?: { channel: string; data: unknown; id?: string };
  /** For the origin: a channel to close instead of a message. */
  closeChannel?: string;
}

export interface SentBatch {
  /** GRIP items the proxy accepted (per target). */
  items: number;
  /** Ids in message order, as the origin assigned them (none straight to a proxy). */
  ids: string[];
}

export interface PublishSink {
  /** Frames and checks one message; throws InputRejected when it can never be sent. */
  prepare(message: OutgoingMessage): PreparedMessage;
  prepareClose(channel: string): PreparedMessage;
  send(batch: PreparedMessage[]): Promise<SentBatch>;
  /**
   * Optional: does send's CPU work (serialising the request) now and returns the rest of send, so
   * it can run while an earlier request is still in flight. May throw what send would reject with.
   */
  encode?(batch: PreparedMessage[]): () => Promise<SentBatch>;
}

/** A message that cannot be sent as given (too large, invalid); the target was never asked. */
export class InputRejected extends Error {
  override name = 'InputRejected';
}

export interface SinkEvents {
  onRetry?: (report: PublishRetryReport) => void;
  onRequest?: () => void;
}

const ENVELOPE_BYTES = '{"items":[]}'.length;

/**
 * An upper bound of an item's bytes in a request body without serialising it: JSON escaping turns one
 * UTF-16 unit into at most 6 bytes, and everything besides the contents (keys, ids, status, headers)
 * stays under 400 characters.
 */
function itemBytesBound(item: GripPublishItem): number {
  const f = item.formats;
  const stream = f['http-stream'] && 'content' in f['http-stream'] ? f['http-stream'].content.length : 0;
  const ws = f['ws-message'] && 'content' in f['ws-message'] ? f['ws-message'].content.length : 0;
  const response = f['http-response']?.body.length ?? 0;
  return 6 * (stream + ws + response + item.channel.length + 400);
}

/** A message for a proxy: every transport's live channel, checked against the 64 KiB publish limit. */
export function frameForProxy(message: OutgoingMessage, now: number): PreparedMessage {
  if (message.id !== undefined) {
    throw new InputRejected('a message published straight to the proxy has no id (it is not in the history); publish it with --target origin');
  }
  const items = liveItemsForMessage({ channel: message.channel, data: message.data, ts: now });
  for (const item of items) {
    // Small messages (the usual case) are far under the limit; measure exactly only near it.
    if (itemBytesBound(item) + ENVELOPE_BYTES <= PUBLISH_BODY_LIMIT_BYTES) continue;
    const bytes = publishedItemBytes(item) + ENVELOPE_BYTES;
    if (bytes > PUBLISH_BODY_LIMIT_BYTES) {
      throw new InputRejected(
        `the message is ${bytes} bytes once framed for ${item.channel.split(':')[0]}, over the ` +
          `${PUBLISH_BODY_LIMIT_BYTES}-byte (64 KiB) publish limit; a proxy would answer 413`,
      );
    }
  }
  return { channel: message.channel, items };
}

function createGripSink(target: Extract<ResolvedTarget, { kind: 'grip' }>, tuning: PublishTuning, events: SinkEvents): PublishSink {
  const publisher = createGripPublisher(target.targets, {
    // Messages carry 4 items each; let a batch of --batch messages go in one request when it fits.
    maxItemsPerRequest: tuning.batchSize * 4,
    attempts: tuning.attempts,
    timeoutMs: tuning.timeoutMs,
    // --retries and --timeout bound the CLI's retries; the origin's 10 s deadline is for its HTTP callers.
    retryPolicy: { deadlineMs: tuning.attempts * (tuning.timeoutMs + DEFAULT_PUBLISH_RETRY_POLICY.maxDelayMs) },
    ...(events.onRetry ? { onRetry: events.onRetry } : {}),
    ...(events.onRequest ? { onBatchPublished: events.onRequest } : {}),
  });
  const encode = (batch: PreparedMessage[]): (() => Promise<SentBatch>) => {
    const items: GripPublishItem[] = [];
    for (const message of batch) for (const item of message.items) items.push(item);
    const requests = publisher.encode(items);
    return async () => {
      await publisher.publishEncoded(requests);
      return { items: items.length, ids: [] };
    };
  };
  return {
    prepare: (message) => frameForProxy(message, Date.now()),
    prepareClose: (channel) => ({ channel, items: closeItemsForChannel(channel) }),
    encode,
    async send(batch) {
      return encode(batch)();
    },
  };
}

function isConnectionRefused(error: unknown): boolean {
  return (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
}

function createOriginSink(target: Extract<ResolvedTarget, { kind: 'origin' }>, tuning: PublishTuning, events: SinkEvents): PublishSink {
  const endpoint = target.endpoints[0]!;
  return {
    prepare(message) {
      try {
        const input = validatePublishInput(
          message.id === undefined
            ? { channel: message.channel, data: message.data }
            : { channel: message.channel, data: message.data, id: message.id },
          'the message',
        );
        return { channel: input.channel, ...(input.id ? { id: input.id } : {}), items: [], apiItem: input };
      } catch (error) {
        if (error instanceof PublishInputError) throw new InputRejected(error.message);
        throw error;
      }
    },
    prepareClose(channel) {
      return { channel, items: [], closeChannel: channel };
    },
    async send(batch) {
      const messages = batch.filter((m) => m.apiItem !== undefined);
      const ids: string[] = [];
      if (messages.length > 0) {
        const body = JSON.stringify({ items: messages.map((m) => m.apiItem) });
        const parsed = JSON.parse(await postToOrigin(target.url, endpoint, body)) as { messages?: Array<{ id: string }> };
        ids.push(...(parsed.messages ?? []).map((m) => m.id));
      }
      for (const message of batch) {
        if (message.closeChannel === undefined) continue;
        const url = closeEndpoint(target, message.closeChannel);
        await postToOrigin(url, url, undefined);
      }
      return { items: 0, ids };
    },
  };

  /**
   * POSTs to the origin with the publish token; resolves with the response text of a 2xx. Retried only
   * when nothing can have been stored: a refused connection, or a 503 saying the history was
   * unavailable and nothing was stored (after its Retry-After). Anything else may have been stored.
   */
  async function postToOrigin(url: string, endpoint: string, body: string | undefined): Promise<string> {
    let lastError: PublishError | undefined;
    for (let attempt = 1; attempt <= tuning.attempts; attempt++) {
      if (attempt > 1) {
        const delayMs = retryDelayMs(lastError!, attempt);
        events.onRetry?.({ target: endpoint, attempt, attempts: tuning.attempts, delayMs, error: lastError! });
        await new Promise((r) => setTimeout(r, delayMs));
      }
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${target.token}`,
            ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(tuning.timeoutMs),
        });
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        lastError = new PublishError(`cannot reach ${endpoint}: ${code}`, endpoint, undefined, undefined, { cause: error });
        if (isConnectionRefused(error)) continue;
        throw lastError;
      }
      const text = await response.text();
      if (response.ok) {
        events.onRequest?.();
        return text;
      }
      let detail = text.slice(0, 500).trim();
      let nothingStored = false;
      try {
        const parsed = JSON.parse(text) as { message?: string; error?: string; stored?: unknown[] };
        if (typeof parsed.message === 'string') detail = parsed.message;
        nothingStored = parsed.error === 'history_unavailable' && Array.isArray(parsed.stored) && parsed.stored.length === 0;
      } catch {
        // not JSON: keep the text
      }
      lastError = new PublishError(`${endpoint} answered ${response.status} ${response.statusText}: ${detail}`, endpoint, response.status, text.slice(0, 500));
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs.set(lastError, Math.min(retryAfter, 30) * 1000);
      if (response.status === 503 && nothingStored) continue;
      throw lastError;
    }
    throw lastError!;
  }
}

const retryAfterMs = new WeakMap<PublishError, number>();

/** Exponential backoff with full jitter, or the server's Retry-After when it gave one. */
function retryDelayMs(error: PublishError, attempt: number): number {
  return retryAfterMs.get(error) ?? Math.random() * 100 * 2 ** (attempt - 1);
}

export function createPublishSink(target: ResolvedTarget, tuning: PublishTuning, events: SinkEvents = {}): PublishSink {
  return target.kind === 'origin' ? createOriginSink(target, tuning, events) : createGripSink(target, tuning, events);
}
