// What one point of the chat benchmark does, as plain data: the channels, who subscribes where (in
// channel order, as rooms fill up one after another), which load process holds whom, and when each
// channel publishes. Pure, so the layout and the schedule are tested apart from any process.
import { clientTransport, transportsInOrder, type Mix, type MixTransport } from './chatMix.ts';
import type { TransportName } from '../../../client/index.ts';

export function channelName(index: number): string {
  return `room-${index}`;
}

export interface MemberPlan {
  channel: string;
  transport: TransportName;
}

/**
 * C x S subscribers, channel by channel (every subscriber of room-0, then of room-1...): a channel's
 * subscribers arrive together, and its first subscription comes before the next channel's. The
 * transports are dealt over the whole list, so every channel holds about the mix.
 */
export function membersOf(channels: number, perChannel: number, mix: Mix): MemberPlan[] {
  const transports = transportsInOrder(mix, channels * perChannel);
  return transports.map((t, i) => ({ channel: channelName(Math.floor(i / perChannel)), transport: clientTransport(t) }));
}

/** Every k-th of `items` for part k of `parts` (so each part gets an even share of the order). */
export function shareOf<T>(items: readonly T[], part: number, parts: number): T[] {
  return items.filter((_item, i) => i % parts === part);
}

/** Connections for part k of `parts` when `total` are dealt out (the first ones get one more). */
export function connectionsOf(total: number, part: number, parts: number): number {
  return Math.floor(total / parts) + (part < total % parts ? 1 : 0);
}

export function compositionOf(members: readonly MemberPlan[]): Partial<Record<TransportName, number>> {
  const out: Partial<Record<TransportName, number>> = {};
  for (const m of members) out[m.transport] = (out[m.transport] ?? 0) + 1;
  return out;
}

export function mixTransportOf(transport: TransportName): MixTransport {
  return transport === 'websocket' ? 'ws' : transport;
}

/** One publish of the schedule: channel index and its time in ms after the start. */
export interface ScheduledPublish {
  channel: number;
  atMs: number;
}

/**
 * Every channel publishes `rate` messages a second for `seconds`, channel j at (k + j/C) / rate
 * seconds for its k-th message: the C channels' messages spread evenly over each interval, so the
 * publish API sees a steady C x rate a second, not a burst per second. `channels` are the indexes
 * this publisher handles (of `total`). Sorted by time.
 */
export function publishSchedule(channels: readonly number[], total: number, rate: number, seconds: number): ScheduledPublish[] {
  const perChannel = Math.max(1, Math.round(rate * seconds));
  const out: ScheduledPublish[] = [];
  for (let k = 0; k < perChannel; k++) {
    for (const j of channels) out.push({ channel: j, atMs: ((k + j / total) / rate) * 1000 });
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** Messages a point publishes in all. */
export function messagesOf(channels: number, rate: number, seconds: number): number {
  return channels * Math.max(1, Math.round(rate * seconds));
}
