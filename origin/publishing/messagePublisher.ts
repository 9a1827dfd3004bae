// The publish path: validate, store in history (so reconnecting clients recover it), then publish to
// every transport on every GRIP target. Used by POST /api/publish and by WebSocket client publishes.
import { isValidChannelName, CHANNEL_NAME_RULE } from '../transports/gripChannels.ts';
import { isMessageId, type ChannelMessage, type HistoryStore } from '../history/historyStore.ts';
import { itemsForMessage, publishedItemBytes, type GripPublishItem } from './gripItems.ts';
import { PUBLISH_BODY_LIMIT_BYTES, type GripPublisher } from './gripPublisher.ts';

export interface PublishInput {
  channel: string;
  data: unknown;
  id?: string;
}

export class PublishInputError extends Error {
  override name = 'PublishInputError';
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(message);
  }
}

export const MAX_ITEMS_PER_PUBLISH = 1000;

/** Checks shape and limits of one item; `where` names it in the error ("items[3]"). */
export function validatePublishInput(raw: unknown, where: string): PublishInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PublishInputError(`${where} must be an object with "channel" and "data"`);
  }
  const { channel, data, id } = raw as Record<string, unknown>;
  if (typeof channel !== 'string' || !isValidChannelName(channel)) {
    throw new PublishInputError(`${where}.channel must be ${CHANNEL_NAME_RULE}`);
  }
  if (data === undefined) throw new PublishInputError(`${where}.data is required (any JSON value)`);
  if (id !== undefined && (typeof id !== 'string' || !isMessageId(id))) {
    throw new PublishInputError(`${where}.id must be a decimal string such as "42"`);
  }
  // Measure the largest framing with the widest id and a timestamp, before anything is stored.
  const probe: ChannelMessage = { id: '999999999999999999', channel, data, ts: Date.now() };
  for (const item of itemsForMessage(probe, '999999999999999998')) {
    const bytes = publishedItemBytes(item) + '{"items":[]}'.length;
    if (bytes > PUBLISH_BODY_LIMIT_BYTES) {
      throw new PublishInputError(
        `${where} is too large: ${bytes} bytes once framed for ${item.channel.split(':')[0]}, ` +
          `over Fanout's ${PUBLISH_BODY_LIMIT_BYTES}-byte publish limit`,
        413,
      );
    }
  }
  return id === undefined ? { channel, data } : { channel, data, id };
}

/** Accepts `{channel, data, id?}` or `{items: [...]}`. */
export function parsePublishBody(body: unknown): PublishInput[] {
  if (typeof body === 'object' && body !== null && 'items' in body) {
    const items = (body as { items: unknown }).items;
    if (!Array.isArray(items) || items.length === 0) throw new PublishInputError('items must be a non-empty array');
    if (items.length > MAX_ITEMS_PER_PUBLISH) {
      throw new PublishInputError(`items has ${items.length} entries; at most ${MAX_ITEMS_PER_PUBLISH} per request`);
    }
    return items.map((item, index) => validatePublishInput(item, `items[${index}]`));
  }
  return [validatePublishInput(body, 'body')];
}

/** The messages were stored (and stay recoverable from history) but the proxy did not take them. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    readonly stored: ChannelMessage[],
    cause: unknown,
  ) {
    super(`stored ${stored.length} message(s) but publishing failed: ${(cause as Error).message ?? String(cause)}`, {
      cause,
    });
  }
}

export interface MessagePublisher {
  /** Stores then publishes; returns the stored messages in input order. */
  publish(inputs: PublishInput[]): Promise<ChannelMessage[]>;
}

export function createMessagePublisher(history: HistoryStore, grip: GripPublisher): MessagePublisher {
  return {
    async publish(inputs) {
      const stored: ChannelMessage[] = [];
      const items: GripPublishItem[] = [];
      for (const input of inputs) {
        const { message, prevId } = await history.append(input.channel, input.data, input.id);
        stored.push(message);
        items.push(...itemsForMessage(message, prevId));
      }
      try {
        await grip.publish(items);
      } catch (error) {
        throw new DeliveryError(stored, error);
      }
      return stored;
    },
  };
}
