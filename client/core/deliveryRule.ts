// What a subscription does with each message, and how its position moves: the one place the
// delivery guarantee's per-message rules live (every transport, every recovery path goes through it).
// A position is the id of the last stored message delivered; it only moves forward, except to the
// `after` of a reset notice, which the origin reports (lost continuity is never silent).
import { compareMessageIds, laterMessageId, type ContinuityReset } from '../../protocol/index.ts';

/**
 * `deliver`: hand it on and move the position to its id. `live-only`: hand it on, the position stays
 * (a message published straight to the proxy has no id and is in no history). `duplicate`: at or
 * before the position, already delivered: drop it. `gap`: its `prev` (WebSocket frames, SSE events
 * and NDJSON lines name the id they follow) is not our position, so something between was dropped on
 * the way: do not deliver it, subscribe again from the position.
 */
export type Judgement = 'deliver' | 'live-only' | 'duplicate' | 'gap';

export function judgeMessage(position: string | undefined, id: string | undefined, prev: string | undefined): Judgement {
  if (id === undefined) return 'live-only';
  if (position === undefined) return 'deliver';
  if (compareMessageIds(id, position) <= 0) return 'duplicate';
  return prev !== undefined && prev !== position ? 'gap' : 'deliver';
}

/**
 * The position once the origin said where a subscription stands (WebSocket `subscribed.lastId`, an SSE
 * id-only block, a long-poll answer's `lastId`): never backwards, unless a reset says so.
 */
export function positionAfter(position: string | undefined, origin: string, reset?: ContinuityReset): string {
  return reset ? reset.after : (laterMessageId(position, origin) as string);
}
