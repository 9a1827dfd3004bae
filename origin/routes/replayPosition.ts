// Where a (re)connecting subscriber stands: what to replay from history now, and which id its GRIP
// subscription continues from (the `prev-id` Pushpin checks every published item against).
import { compareMessageIds, type ChannelMessage, type HistoryStore } from '../history/historyStore.ts';

/** Messages replayed in one response; a longer backlog is paged through the Grip-Link next link. */
export const REPLAY_PAGE_SIZE = 100;

export interface ReplayPosition {
  replay: ChannelMessage[];
  /** The last id the subscriber will have seen; undefined when the channel has no messages yet. */
  seenUpTo: string | undefined;
}

export async function replayPosition(
  history: HistoryStore,
  channel: string,
  resumeId: string | undefined,
): Promise<ReplayPosition> {
  // Read the position before the replay: a message appended in between is then either in the replay
  // or arrives live, and prev-id lets Pushpin notice and recover any gap through the next link.
  const lastId = await history.lastId(channel);
  if (resumeId === undefined) return { replay: [], seenUpTo: lastId };
  // A client ahead of the channel (history was reset) continues from the channel's real position.
  if (lastId === undefined) return { replay: [], seenUpTo: undefined };
  if (compareMessageIds(resumeId, lastId) >= 0) return { replay: [], seenUpTo: lastId };
  const replay = await history.readAfter(channel, resumeId, REPLAY_PAGE_SIZE);
  // Nothing retained after the client's id: it has everything that can still be had.
  return { replay, seenUpTo: replay.at(-1)?.id ?? lastId };
}
