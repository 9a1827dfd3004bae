// When a failed publish request is tried again: exponential backoff with full jitter, at least as
// long as the target's Retry-After, and never past a total deadline, so a caller (an HTTP client of
// POST /api/publish, waiting for its answer) hears within a known time that the proxy did not take
// the messages. Pure: the clock and the randomness are passed in, so the policy is unit-tested alone.

export interface PublishRetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** The backoff ceiling of the first retry; it doubles each retry up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** From the start of the first attempt: every attempt, its wait and its request end by then. */
  deadlineMs: number;
  /** One request's timeout (shortened near the deadline). */
  attemptTimeoutMs: number;
  /** A retry is not started with less time than this before the deadline. */
  minAttemptMs: number;
}

/**
 * The origin's policy: a proxy restart (Pushpin is back within a few seconds) is ridden out; a target
 * that stays down is reported after 10 s (502 publish_failed, with the messages that were stored).
 */
export const DEFAULT_PUBLISH_RETRY_POLICY: PublishRetryPolicy = {
  maxAttempts: 30,
  baseDelayMs: 100,
  maxDelayMs: 2000,
  deadlineMs: 10_000,
  attemptTimeoutMs: 5000,
  minAttemptMs: 200,
};

export interface FailedAttempt {
  /** The attempt that failed, from 1. */
  attempt: number;
  /** Milliseconds since the first attempt started. */
  elapsedMs: number;
  /** The answer's status; undefined when there was none (refused, reset, timed out). */
  status?: number;
  /** The answer's Retry-After, in milliseconds from now (parseRetryAfter). */
  retryAfterMs?: number;
}

export type RetryDecision =
  | { retry: true; delayMs: number; timeoutMs: number }
  | { retry: false; reason: 'permanent' | 'attempts' | 'deadline' | 'retry-after-past-deadline' };

/** Worth another try: no answer, a timeout, too many requests, or a server error. */
export function isTransientStatus(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/** The upper bound of the wait before retry number `attempt` (the attempt that just failed). */
export function backoffCeilingMs(policy: PublishRetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** The first request's timeout. */
export function firstAttemptTimeoutMs(policy: PublishRetryPolicy): number {
  return Math.max(1, Math.min(policy.attemptTimeoutMs, policy.deadlineMs));
}

/**
 * Whether and when to try again after `failed`. `random` returns [0, 1) (Math.random): the wait is
 * uniform in [0, ceiling) ("full jitter", so many publishers failing together do not retry together),
 * raised to the Retry-After, and shortened so the next attempt still has minAttemptMs before the deadline.
 */
export function nextRetry(policy: PublishRetryPolicy, failed: FailedAttempt, random: () => number = Math.random): RetryDecision {
  if (!isTransientStatus(failed.status)) return { retry: false, reason: 'permanent' };
  if (failed.attempt >= policy.maxAttempts) return { retry: false, reason: 'attempts' };
  // The latest moment (from now) the next attempt may start.
  const latestStart = policy.deadlineMs - failed.elapsedMs - policy.minAttemptMs;
  if (latestStart < 0) return { retry: false, reason: 'deadline' };
  const floor = Math.max(0, failed.retryAfterMs ?? 0);
  if (floor > latestStart) return { retry: false, reason: 'retry-after-past-deadline' };
  const jittered = Math.floor(Math.min(Math.max(random(), 0), 1) * backoffCeilingMs(policy, failed.attempt));
  const delayMs = Math.min(Math.max(jittered, floor), latestStart);
  const timeoutMs = Math.min(policy.attemptTimeoutMs, policy.deadlineMs - failed.elapsedMs - delayMs);
  return { retry: true, delayMs, timeoutMs };
}

/**
 * A Retry-After header in milliseconds from `nowMs`: delta-seconds or an HTTP date (RFC 9110);
 * undefined when absent or unreadable (then only the backoff applies).
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Why the retries stopped, for the error a caller sees. */
export function describeGiveUp(reason: Exclude<RetryDecision, { retry: true }>['reason'], attempts: number, elapsedMs: number): string {
  const spent = `${attempts} attempt${attempts === 1 ? '' : 's'} in ${(elapsedMs / 1000).toFixed(1)} s`;
  switch (reason) {
    case 'permanent':
      return `not retried (${spent})`;
    case 'attempts':
      return `gave up after ${spent}`;
    case 'deadline':
      return `gave up at the publish deadline after ${spent}`;
    case 'retry-after-past-deadline':
      return `the target asked to wait (Retry-After) past the publish deadline; gave up after ${spent}`;
  }
}
