// Where a (re)connecting subscriber continues from, decided from the channel's position alone: pure,
// so every transport answers a resume the same way. A position the history cannot continue from is
// never served as a silent gap: the plan carries a reset that each transport reports to its client.
import { compareMessageIds, START_ID, type ContinuityReset, type ResetReason } from '../../protocol/index.ts';
import type { ChannelPosition } from './historyStore.ts';

export interface ResumePlan {
  /** Replay the retained messages above this id, then go live. */
  afterId: string;
  reset?: ContinuityReset;
}

/**
 * `requested` undefined: a new subscriber, live from the channel's position. "0": everything
 * retained (a reset only if part of the current epoch has expired). Anything else resumes exactly
 * when the history holds everything after it: from before the current epoch is `restarted`, above
 * what was issued in it `ahead`, below what is retained `expired`.
 */
export function resumePlan(position: ChannelPosition, requested: string | undefined): ResumePlan {
  if (requested === undefined) return { afterId: position.lastId };
  // The position before everything retained: "0" while nothing of the epoch has expired (its first
  // message follows "0"), else the floor. Replays chain from it: a client there takes the next
  // message's prev as its own.
  const expired = compareMessageIds(position.floorId, position.epochId) > 0;
  const start = expired ? position.floorId : START_ID;
  if (requested === START_ID) {
    return expired ? { afterId: start, reset: { reason: 'expired', since: requested, after: start } } : { afterId: start };
  }
  const reset = (reason: ResetReason): ResumePlan => ({ afterId: start, reset: { reason, since: requested, after: start } });
  if (compareMessageIds(requested, position.epochId) < 0) return reset('restarted');
  // At or above the epoch base: an empty epoch (lastId "0") has issued nothing, so anything is ahead.
  if (compareMessageIds(requested, position.lastId) > 0) return reset('ahead');
  if (compareMessageIds(requested, position.floorId) < 0) return reset('expired');
  return { afterId: requested };
}
