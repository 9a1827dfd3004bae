// One page of what a stream of several channels replays when it (re)connects: each channel's reset
// notice and retained messages in the stream's channel order, under the byte limit of a GRIP response,
// and where every channel stands after the page. Per channel exactly as one channel's stream: its own
// resume plan (a position that cannot be continued resets that channel only), its own `prev` chain.
import type { ContinuityReset } from '../../protocol/index.ts';
import type { Replay } from './replay.ts';

export interface ChannelReplayInput {
  channel: string;
  /** Where the client asked to resume (undefined: live from the position the replay read). */
  requested: string | undefined;
  replay: Replay;
  /** The frame of each message of `replay.messages`, in order. */
  frames: string[];
}

export interface MultiReplayNotices {
  reset(channel: string, reset: ContinuityReset): string;
  /** Where a channel stands when its replay sends no message. */
  position(channel: string, id: string): string;
}

export interface MultiReplayPage {
  /** The page's body, in order. */
  parts: string[];
  /**
   * Every channel's position after this page, in the stream's order: where a next link resumes, and
   * the stream position a client reconnects with. A channel the page did not reach keeps the
   * position it was asked for (its resume plan, a reset included, is decided again on the next page).
   */
  positions: Array<[channel: string, id: string]>;
  /** Every channel replayed to its position: the stream can be held. Otherwise a next link follows. */
  complete: boolean;
  /** Messages in the page. */
  replayed: number;
}

/**
 * The channels in order, each whole while the page has room (at least one message a page, so that a
 * page always moves on); the first channel that does not fit whole ends the page.
 */
export function multiReplayPage(inputs: ChannelReplayInput[], notices: MultiReplayNotices, frameBytes: (frame: string) => number, budgetBytes: number): MultiReplayPage {
  const parts: string[] = [];
  const positions: Array<[string, string]> = [];
  let used = 0;
  let replayed = 0;
  let complete = true;
  for (const { channel, requested, replay, frames } of inputs) {
    if (!complete) {
      positions.push([channel, requested ?? replay.plan.afterId]);
      continue;
    }
    let sent = 0;
    let bytes = 0;
    for (const frame of frames) {
      const size = frameBytes(frame);
      if (replayed + sent > 0 && used + bytes + size > budgetBytes) break;
      bytes += size;
      sent++;
    }
    if (sent === 0 && frames.length > 0) {
      // Not reached: its reset notice, if any, goes with its first message on the next page.
      complete = false;
      positions.push([channel, requested ?? replay.plan.afterId]);
      continue;
    }
    if (replay.plan.reset) parts.push(notices.reset(channel, replay.plan.reset));
    for (let i = 0; i < sent; i++) parts.push(frames[i]!);
    used += bytes;
    replayed += sent;
    if (sent < frames.length || replay.more) {
      complete = false;
      positions.push([channel, replay.messages[sent - 1]!.id]);
      continue;
    }
    if (sent === 0) parts.push(notices.position(channel, replay.upTo));
    positions.push([channel, replay.upTo]);
  }
  return { parts, positions, complete, replayed };
}
