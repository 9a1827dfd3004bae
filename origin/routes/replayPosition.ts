// Where a (re)connecting subscriber stands: what to replay from history now, and which id its GRIP
// subscription continues from (the `prev-id` Pushpin checks every published item against).
import { compareMessageIds, NO_MESSAGES_ID, type ChannelMessage, type HistoryStore } from '../history/historyStore.ts';

/** Messages replayed in one response; a longer backlog is paged through the Grip-Link next link. */
export const REPLAY_PAGE_SIZE = 100;

export interface ReplayPosition {
  replay: ChannelMessage[];
  /** The last id the subscriber will have seen; "0" when the channel has no messages yet. */
  seenUpTo: string;
  /** The channel's newest id when the position was read ("0" when empty). */
  lastId: string;
}

export async function replayPosition(
  history: HistoryStore,
  channel: string,
  resumeId: string | undefined,
  pageSize = REPLAY_PAGE_SIZE,
): Promise<ReplayPosition> {
  // Read the position before the replay: a message appended in between is then either in the replay
  // or arrives live, and prev-id lets Pushpin notice and recover any gap through the next link.
  const lastId = (await history.lastId(channel)) ?? NO_MESSAGES_ID;
  if (resumeId === undefined) return { replay: [], seenUpTo: lastId, lastId };
  // A client ahead of the channel (history was reset) continues from the channel's real position.
  if (compareMessageIds(resumeId, lastId) >= 0) return { replay: [], seenUpTo: lastId, lastId };
  const replay = await history.readAfter(channel, resumeId, pageSize);
  // Nothing retained after the client's id: it has everything that can still be had.
  return { replay, seenUpTo: replay.at(-1)?.id ?? lastId, lastId };
}

/**
 * The longest prefix of `replay` whose frames fit `budgetBytes` (at least one message), and whether
 * the client is then still behind the channel's position (more pages to follow).
 */
export function replayPage<T extends { id: string }>(
  position: ReplayPosition & { replay: T[] },
  frameBytes: (message: T) => number,
  budgetBytes: number,
): { page: T[]; upTo: string; behind: boolean } {
  const page: T[] = [];
  let used = 0;
  for (const message of position.replay) {
    used += frameBytes(message);
    if (page.length > 0 && used > budgetBytes) break;
    page.push(message);
  }
  const upTo = page.length === position.replay.length ? position.seenUpTo : page.at(-1)!.id;
  return { page, upTo, behind: compareMessageIds(upTo, position.lastId) < 0 };
}
