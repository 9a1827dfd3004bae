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
  if (requested === START_ID) {
    if (compareMessageIds(position.floorId, position.epochId) > 0) {
      return { afterId: position.floorId, reset: { reason: 'expired', since: requested, after: position.floorId } };
    }
    return { afterId: position.floorId };
  }
  const reset = (reason: ResetReason): ResumePlan => ({ afterId: position.floorId, reset: { reason, since: requested, after: position.floorId } });
  if (compareMessageIds(requested, position.epochId) < 0) return reset('restarted');
  // At or above the epoch base: an empty epoch (lastId "0") has issued nothing, so anything is ahead.
  if (compareMessageIds(requested, position.lastId) > 0) return reset('ahead');
  if (compareMessageIds(requested, position.floorId) < 0) return reset('expired');
  return { afterId: requested };
}
