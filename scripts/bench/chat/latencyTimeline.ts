// Publish-to-delivery latency over the run: one histogram per second of publish time (the second in
// which the message was sent), so a run shows whether early messages waited longer than late ones
// (fresh channels waiting for Pushpin's update limiter) and not just one distribution for all.
// Mergeable across load processes that count from the same start.
import { emptyHistogram, merge, quantileOf, record, type LatencyHistogram } from '../fanout/latencyHistogram.ts';

export interface LatencyTimeline {
  /** Wall-clock ms the seconds count from (the first publish). */
  startAt: number;
  /** All deliveries. */
  overall: LatencyHistogram;
  /** Second of the publish after startAt -> deliveries of messages sent in it. */
  bySecond: Record<number, LatencyHistogram>;
}

export function emptyTimeline(startAt = 0): LatencyTimeline {
  return { startAt, overall: emptyHistogram(), bySecond: {} };
}

export function recordDelivery(t: LatencyTimeline, sentAt: number, deliveredAt: number): void {
  const ms = deliveredAt - sentAt;
  record(t.overall, ms);
  const second = Math.floor((sentAt - t.startAt) / 1000);
  record((t.bySecond[second] ??= emptyHistogram()), ms);
}

export function mergeTimeline(into: LatencyTimeline, from: LatencyTimeline): void {
  merge(into.overall, from.overall);
  for (const [second, h] of Object.entries(from.bySecond)) merge((into.bySecond[Number(second)] ??= emptyHistogram()), h);
}

export interface TimelinePoint {
  /** Seconds after the first publish (the second in which these messages were sent). */
  second: number;
  deliveries: number;
  p50: number;
  p99: number;
  max: number;
}

const r1 = (v: number): number => Math.round(v * 10) / 10;

/** The per-second summary. */
export function timelinePoints(t: LatencyTimeline): TimelinePoint[] {
  return Object.keys(t.bySecond)
    .map(Number)
    .sort((a, b) => a - b)
    .map((second) => {
      const h = t.bySecond[second]!;
      return { second, deliveries: h.count, p50: r1(quantileOf(h, 0.5)), p99: r1(quantileOf(h, 0.99)), max: r1(h.max) };
    });
}
