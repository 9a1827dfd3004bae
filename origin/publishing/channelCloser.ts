// Closing a channel: ends every SSE and NDJSON stream and every WebSocket subscribed to it, on every
// GRIP target. The close items go to the live channels, which carry no sequence check, so every
// subscriber ends whatever its position; the history is kept and clients may come back.
import { closeItemsForChannel } from './gripItems.ts';
import type { GripPublisher } from './gripPublisher.ts';

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
  close(channel: string): Promise<void>;
}

export function createChannelCloser(grip: GripPublisher): ChannelCloser {
  return {
    async close(channel) {
      try {
        await grip.publish(closeItemsForChannel(channel));
      } catch (error) {
        throw new CloseDeliveryError(channel, error);
      }
    },
  };
}
