// Closing a channel: ends every SSE and NDJSON stream and every WebSocket subscribed to it, on every
// GRIP target. The stream holds are sequenced (prev-id), so the close items must carry the channel's
// last id, read from history, or the proxy drops them.
import { NO_MESSAGES_ID, type HistoryStore } from '../history/historyStore.ts';
import { closeItemsForChannel } from './gripItems.ts';
import type { GripPublisher } from './gripPublisher.ts';

export interface ChannelClosed {
  channel: string;
  /** The prev-id the close items carried: the channel's last id, "0" when it has no messages. */
  lastId: string;
}

/** The proxy did not take the close items (unreachable, refused, 5xx after retries). */
export class CloseDeliveryError extends Error {
  override name = 'CloseDeliveryError';
  constructor(
    readonly channel: string,
    cause: unknown,
  ) {
    super(`closing ${channel} failed: ${(cause as Error).message ?? String(cause)}`, { cause });
  }
}

export interface ChannelCloser {
  /**
   * Publishes the close items at the channel's current position. A hold that is behind it (a message
   * still on its way to the proxy) recovers that message instead of closing; close again to end it.
   */
  close(channel: string): Promise<ChannelClosed>;
}

export function createChannelCloser(history: HistoryStore, grip: GripPublisher): ChannelCloser {
  return {
    async close(channel) {
      const lastId = (await history.lastId(channel)) ?? NO_MESSAGES_ID;
      try {
        await grip.publish(closeItemsForChannel(channel, lastId));
      } catch (error) {
        throw new CloseDeliveryError(channel, error);
      }
      return { channel, lastId };
    },
  };
}
