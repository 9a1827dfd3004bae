// What a publisher may send: `{channel, data, id?}` or `{items: [...]}`. Checked here, pure, before
// anything is stored, so a bad item never leaves half a batch behind.
import { CHANNEL_NAME_RULE, isMessageId, isValidChannelName } from '../../protocol/index.ts';
import { itemsForStoredMessage, MAX_ITEM_BYTES, PUBLISH_BODY_LIMIT_BYTES, publishedItemBytes } from './gripItems.ts';

/** Characters of an envelope and its framings around the data (ids, channel, ts, SSE and frame prefixes), generously. */
const ENVELOPE_FRAME_CHARS = 512;
/** Bytes of an item around its content, generously (see gripItems.ts). */
const ITEM_FRAME_BYTES = 1024;

export interface PublishInput {
  channel: string;
  data: unknown;
  /** `data` as JSON text, serialised once here and used by the store and the items. */
  dataJson?: string;
  /** A requested id, for idempotent retries (see HistoryStore.append). */
  id?: string;
  /**
   * The filter user of the WebSocket connection publishing it with `skipSelf`: the message's WebSocket
   * item names it in its `skip_users` meta, so it does not come back to that connection.
   */
  skipUser?: string;
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
/** Deeper data is refused: serialising it would risk the stack, and no feed needs it. */
export const MAX_DATA_DEPTH = 100;
/**
 * Room kept in every item for the WebSocket item's `skip_users` meta (up to 200 subscribes in progress
 * on a channel, each a 12-character name plus a comma; a skip-self sender's fits the slack).
 */
export const SKIP_META_RESERVE_BYTES = 200 * 13 + 32;

/** Nesting depth of a JSON value, without recursion (hostile input may be deep). */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(current) ? current : Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

export interface ValidateOptions {
  /** Whether the publisher may request ids (the token-protected API may; WebSocket clients may not). */
  allowId: boolean;
}

/** Checks shape and limits of one item; `where` names it in the error ("items[3]"). */
export function validatePublishInput(raw: unknown, where: string, options: ValidateOptions = { allowId: true }): PublishInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PublishInputError(`${where} must be an object with "channel" and "data"`);
  }
  const { channel, data, id } = raw as Record<string, unknown>;
  if (typeof channel !== 'string' || !isValidChannelName(channel)) {
    throw new PublishInputError(`${where}.channel must be ${CHANNEL_NAME_RULE}`);
  }
  if (data === undefined) throw new PublishInputError(`${where}.data is required (any JSON value)`);
  if (id !== undefined && !options.allowId) {
    throw new PublishInputError(`${where}.id is not allowed here: the origin assigns ids`);
  }
  if (id !== undefined && (typeof id !== 'string' || !isMessageId(id) || id === '0')) {
    throw new PublishInputError(`${where}.id must be a decimal string such as "1796000000000042" (at most 18 digits)`);
  }
  if (jsonDepth(data, MAX_DATA_DEPTH) > MAX_DATA_DEPTH) {
    throw new PublishInputError(`${where}.data nests deeper than ${MAX_DATA_DEPTH} levels`);
  }
  const dataJson = JSON.stringify(data);
  // Measure the largest framing with the widest id and a timestamp, before anything is stored; data
  // too small to reach the limit in any framing (a JSON character escapes to at most 6 bytes) is not.
  if ((dataJson.length + ENVELOPE_FRAME_CHARS) * 6 + ITEM_FRAME_BYTES + SKIP_META_RESERVE_BYTES > MAX_ITEM_BYTES) {
    const probe = { id: '999999999999999999', channel, data, ts: Date.now() };
    for (const item of itemsForStoredMessage(probe, '999999999999999998', { dataJson })) {
      const bytes = publishedItemBytes(item) + '{"items":[]}'.length + SKIP_META_RESERVE_BYTES;
      if (bytes > PUBLISH_BODY_LIMIT_BYTES) {
        throw new PublishInputError(
          `${where} is too large: ${bytes} bytes once framed for ${item.channel.split(':').at(-2)}, ` +
            `over Fanout's ${PUBLISH_BODY_LIMIT_BYTES}-byte publish limit`,
          413,
        );
      }
    }
  }
  return id === undefined ? { channel, data, dataJson } : { channel, data, dataJson, id: id as string };
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
