// Every way a publish can fail, mapped once to what the caller is told: the HTTP status and the error
// code (the same code in an HTTP body and a WebSocket error frame), the metric it counts under, and
// exactly which messages were stored anyway.
import { HistoryConflictError, HistoryUnavailableError } from '../history/historyStore.ts';
import { ItemTooLargeError } from './gripPublisher.ts';
import { DeliveryError, PartialPublishError, refsOf, type StoredMessageRef } from './messagePublisher.ts';
import { PublishInputError } from './publishInput.ts';

export type PublishFailureCode = 'invalid_message' | 'message_too_large' | 'id_conflict' | 'history_unavailable' | 'publish_failed';

export interface PublishFailure {
  status: 400 | 409 | 413 | 502 | 503;
  code: PublishFailureCode;
  message: string;
  /** The origin_publish_errors_total label. */
  kind: 'invalid' | 'conflict' | 'unavailable' | 'delivery';
  /** Messages that were stored (and, unless code is publish_failed, published) before the failure. */
  stored: Array<{ id: string; channel: string }>;
  /** The input (index in the batch) that could not be stored. */
  index?: number;
  /** For 503: when to try again. */
  retryAfterSeconds?: number;
  /** For 503: the store may have stored the input at `index` (and after it, on its channel): its answer was lost. */
  maybeStored?: boolean;
}

function fromStoreError(error: HistoryConflictError | HistoryUnavailableError, stored: StoredMessageRef[], index?: number): PublishFailure {
  const at = index === undefined ? {} : { index };
  if (error instanceof HistoryConflictError) {
    return { status: 409, code: 'id_conflict', kind: 'conflict', message: error.message, stored: refsOf(stored), ...at };
  }
  if (error.maybeStored) {
    return {
      status: 503,
      code: 'history_unavailable',
      kind: 'unavailable',
      message:
        `the history store stopped answering after it was sent the messages of this channel, so whether they were stored is unknown ` +
        `(a stored one is published with the next message on its channel): look at GET /api/channels/:channel/messages before ` +
        `publishing them again, or give each message an "id" so that a retry is recognised: ${error.message}`,
      stored: refsOf(stored),
      retryAfterSeconds: 1,
      maybeStored: true,
      ...at,
    };
  }
  return {
    status: 503,
    code: 'history_unavailable',
    kind: 'unavailable',
    message: `the history store is unavailable, nothing of this was stored: ${error.message}`,
    stored: refsOf(stored),
    retryAfterSeconds: 1,
    ...at,
  };
}

/** Undefined for errors that are not publish failures (bugs: let them surface as 500). */
export function describePublishFailure(error: unknown): PublishFailure | undefined {
  if (error instanceof PublishInputError) {
    const tooLarge = error.status === 413;
    return {
      status: error.status,
      code: tooLarge ? 'message_too_large' : 'invalid_message',
      kind: 'invalid',
      message: error.message,
      stored: [],
    };
  }
  if (error instanceof ItemTooLargeError) {
    return { status: 413, code: 'message_too_large', kind: 'invalid', message: error.message, stored: [] };
  }
  if (error instanceof PartialPublishError) {
    const failure = fromStoreError(error.cause, error.stored, error.index);
    if (error.stored.length > 0) failure.message = `${failure.message}; ${error.stored.length} earlier message(s) were stored and published`;
    return failure;
  }
  if (error instanceof HistoryConflictError || error instanceof HistoryUnavailableError) return fromStoreError(error, []);
  if (error instanceof DeliveryError) {
    return {
      status: 502,
      code: 'publish_failed',
      kind: 'delivery',
      message:
        `${error.message}. They are in the history: stream and long-poll subscribers recover them with the next ` +
        'message, reconnecting clients get them; do not publish them again',
      stored: refsOf(error.stored),
    };
  }
  return undefined;
}
