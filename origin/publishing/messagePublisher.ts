// The publish path through the origin: store each message in the history (so reconnecting clients
// recover it), then publish it to every transport on every GRIP target. Used by POST /api/publish and
// by WebSocket client publishes.
//
// A batch is stored per channel, all or nothing for each channel (one atomic append). When a later
// channel of the batch cannot be stored, what was stored for the earlier ones is still published,
// and the error names exactly those messages, so a caller never has stored-but-unpublished messages
// it does not know about.
import {
  HistoryConflictError,
  HistoryUnavailableError,
  type AppendResult,
  type ChannelMessage,
  type HistoryStore,
} from '../history/historyStore.ts';
import { itemsForStoredMessage, type GripPublishItem } from './gripItems.ts';
import { PublishError, type GripPublisher } from './gripPublisher.ts';
import type { PublishInput } from './publishInput.ts';

export interface PublishedMessage extends ChannelMessage {
  /** A retry of a requested id already stored with the same data: not stored or published again. */
  duplicate: boolean;
}

/**
 * Which message, without what it says: errors carry these, since errors reach logs, and message data
 * (of private channels too) does not belong there.
 */
export interface StoredMessageRef {
  id: string;
  channel: string;
}

export function refsOf(messages: ReadonlyArray<StoredMessageRef>): StoredMessageRef[] {
  return messages.map((m) => ({ id: m.id, channel: m.channel }));
}

/** Part of a batch could not be stored; `stored` lists what was stored and published before that. */
export class PartialPublishError extends Error {
  override name = 'PartialPublishError';
  readonly stored: StoredMessageRef[];
  constructor(
    override readonly cause: HistoryConflictError | HistoryUnavailableError,
    /** Index (in the whole batch) of the input that could not be stored. */
    readonly index: number,
    stored: ReadonlyArray<StoredMessageRef>,
  ) {
    super(cause.message, { cause });
    this.stored = refsOf(stored);
  }
}

/** The messages were stored (and stay recoverable from history) but the proxy did not take them. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  readonly stored: StoredMessageRef[];
  constructor(stored: ReadonlyArray<StoredMessageRef>, cause: unknown) {
    const gaveUp = cause instanceof PublishError && cause.gaveUp ? ` (${cause.gaveUp})` : '';
    super(`stored ${stored.length} message(s) but publishing failed: ${(cause as Error).message ?? String(cause)}${gaveUp}`, {
      cause,
    });
    this.stored = refsOf(stored);
  }
}

export interface MessagePublisher {
  /** Stores then publishes; returns the messages in input order. */
  publish(inputs: PublishInput[]): Promise<PublishedMessage[]>;
}

/** Inputs grouped by channel in order of first appearance, each with its index in the batch. */
function byChannel(inputs: PublishInput[]): Map<string, Array<{ input: PublishInput; index: number }>> {
  const groups = new Map<string, Array<{ input: PublishInput; index: number }>>();
  inputs.forEach((input, index) => {
    const group = groups.get(input.channel) ?? [];
    group.push({ input, index });
    groups.set(input.channel, group);
  });
  return groups;
}

function itemsOf(result: AppendResult): GripPublishItem[] {
  return result.messages.flatMap((m) =>
    m.duplicate ? [] : itemsForStoredMessage(m.message, m.prevId, { skipUsers: result.skipUsers }),
  );
}

export function createMessagePublisher(history: HistoryStore, grip: GripPublisher): MessagePublisher {
  const publishStored = async (appended: Map<string, AppendResult>): Promise<void> => {
    const items = [...appended.values()].flatMap(itemsOf);
    try {
      await grip.publish(items);
    } finally {
      // Landed or failed for good: either way no longer in flight (a failure is recovered from history).
      await Promise.all(
        [...appended].map(([channel, result]) =>
          history.landed(channel, result.messages.filter((m) => !m.duplicate).map((m) => m.message.id)).catch(() => {}),
        ),
      );
    }
  };

  return {
    async publish(inputs) {
      const results: PublishedMessage[] = new Array(inputs.length);
      const appended = new Map<string, AppendResult>();
      const inOrder = (): PublishedMessage[] => results.filter((r) => r !== undefined);
      let failure: PartialPublishError | undefined;
      for (const [channel, group] of byChannel(inputs)) {
        let result: AppendResult;
        try {
          result = await history.append(channel, group.map((g) => g.input));
        } catch (error) {
          if (!(error instanceof HistoryConflictError || error instanceof HistoryUnavailableError)) throw error;
          const index = error instanceof HistoryConflictError ? group[error.index]!.index : group[0]!.index;
          failure = new PartialPublishError(error, index, []);
          break;
        }
        appended.set(channel, result);
        result.messages.forEach((m, i) => (results[group[i]!.index] = { ...m.message, duplicate: m.duplicate }));
      }
      if (appended.size > 0) {
        try {
          await publishStored(appended);
        } catch (error) {
          throw new DeliveryError(inOrder(), error);
        }
      }
      if (failure) throw new PartialPublishError(failure.cause, failure.index, inOrder());
      return inOrder();
    },
  };
}
