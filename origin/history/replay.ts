// What a (re)connecting subscriber is sent from the history: the retained messages after the position
// its resume plan chose, read with the channel's position, plus paging for responses with a byte limit.
import { type ChannelMessage, type ChannelPosition, type HistoryStore } from './historyStore.ts';
import { resumePlan, type ResumePlan } from './resumePlan.ts';

export interface Replay {
  position: ChannelPosition;
  plan: ResumePlan;
  /** Retained messages above plan.afterId, oldest first, at most the page size asked for. */
  messages: ChannelMessage[];
  /** The position the subscriber is at once it has these messages. */
  upTo: string;
  /** True when more retained messages follow the page. */
  more: boolean;
}

/** One read in the usual cases; a second only for a position ahead of the channel. */
export async function readReplay(history: Pick<HistoryStore, 'read'>, channel: string, requested: string | undefined, limit: number): Promise<Replay> {
  let read = await history.read(channel, requested, requested === undefined ? 0 : limit + 1);
  const plan = resumePlan(read.position, requested);
  if (requested !== undefined && plan.reset?.reason === 'ahead') read = await history.read(channel, plan.afterId, limit + 1);
  const more = read.messages.length > limit;
  const messages = more ? read.messages.slice(0, limit) : read.messages;
  return { position: read.position, plan, messages, upTo: messages.at(-1)?.id ?? plan.afterId, more };
}

/**
 * The longest prefix of `messages` whose frames fit `budgetBytes` (at least one message), and the
 * position after it.
 */
export function replayPage<T extends { id: string }>(
  messages: T[],
  frameBytes: (message: T) => number,
  budgetBytes: number,
): { page: T[]; complete: boolean } {
  const page: T[] = [];
  let used = 0;
  for (const message of messages) {
    used += frameBytes(message);
    if (page.length > 0 && used > budgetBytes) break;
    page.push(message);
  }
  return { page, complete: page.length === messages.length };
}
