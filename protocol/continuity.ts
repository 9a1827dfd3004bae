// Lost continuity is never silent: when a position cannot be continued, the origin says so with this
// notice (SSE `event: reset`, an NDJSON `{"type":"reset"}` line, `reset` in a long-poll answer, in a
// history page and in the WebSocket `subscribed` frame), then sends everything retained after `after`.
import { isMessageId } from './messageIds.ts';

/**
 * `expired`: older than what is retained; `restarted`: from before the current epoch (the history
 * restarted, was flushed or forgot an idle channel); `ahead`: above the channel's last id.
 */
export type ResetReason = 'expired' | 'restarted' | 'ahead';

export const RESET_REASONS: readonly ResetReason[] = ['expired', 'restarted', 'ahead'];

export interface ContinuityReset {
  reason: ResetReason;
  /** The position the client asked to resume from. */
  since: string;
  /** What the client gets instead: every retained message above this id. */
  after: string;
}

export function isContinuityReset(value: unknown): value is ContinuityReset {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return RESET_REASONS.includes(v.reason as ResetReason) && isMessageId(v.since) && isMessageId(v.after);
}
