// Latencies of a million deliveries in a few kilobytes: log-spaced buckets 1% wide (so a quantile is
// within 1% of the true value), mergeable across load processes by adding counts. Exact min and max.
// Hand-written because it is 40 lines and the load processes send it to the parent as plain JSON.

/** Bucket width: each bucket's upper bound is 1% above its lower one. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Values below this (ms) share bucket 0. */
const FLOOR_MS = 0.01;

export interface LatencyHistogram {
  /** Bucket index -> count, sparse. */
  buckets: Record<number, number>;
  count: number;
  sum: number;
  min: number;
  max: number;
}

export function emptyHistogram(): LatencyHistogram {
  return { buckets: {}, count: 0, sum: 0, min: Infinity, max: -Infinity };
}

function bucketOf(ms: number): number {
  return ms <= FLOOR_MS ? 0 : 1 + Math.floor(Math.log(ms / FLOOR_MS) / LOG_GROWTH);
}

/** The value a bucket stands for: its geometric middle. */
function valueOf(bucket: number): number {
  return bucket === 0 ? FLOOR_MS : FLOOR_MS * Math.pow(GROWTH, bucket - 0.5);
}

export function record(h: LatencyHistogram, ms: number): void {
  // A clock step between processes can give a tiny negative latency; it counts as the floor.
  const value = Math.max(0, ms);
  const b = bucketOf(value);
  h.buckets[b] = (h.buckets[b] ?? 0) + 1;
  h.count++;
  h.sum += value;
  if (value < h.min) h.min = value;
  if (value > h.max) h.max = value;
}

export function merge(into: LatencyHistogram, from: LatencyHistogram): void {
  for (const [b, n] of Object.entries(from.buckets)) into.buckets[Number(b)] = (into.buckets[Number(b)] ?? 0) + n;
  into.count += from.count;
  into.sum += from.sum;
  into.min = Math.min(into.min, from.min);
  into.max = Math.max(into.max, from.max);
}

/** The q-quantile (0..1), nearest rank; NaN when empty. Clamped to the exact min and max. */
export function quantileOf(h: LatencyHistogram, q: number): number {
  if (h.count === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * h.count));
  let seen = 0;
  for (const b of Object.keys(h.buckets).map(Number).sort((x, y) => x - y)) {
    seen += h.buckets[b]!;
    if (seen >= rank) return Math.min(h.max, Math.max(h.min, valueOf(b)));
  }
  return h.max;
}
