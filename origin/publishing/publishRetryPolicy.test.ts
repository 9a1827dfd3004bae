// The publish retry policy as a pure function (fast-check over failures, clocks and jitter), then the
// publisher following it against real local HTTP servers: Retry-After waited for, the deadline kept.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { closeItemsForChannel } from './gripItems.ts';
import { createGripPublisher, PublishError, type PublishRetryReport } from './gripPublisher.ts';
import {
  backoffCeilingMs,
  DEFAULT_PUBLISH_RETRY_POLICY,
  firstAttemptTimeoutMs,
  isTransientStatus,
  nextRetry,
  parseRetryAfter,
  type PublishRetryPolicy,
} from './publishRetryPolicy.ts';

const policyArb: fc.Arbitrary<PublishRetryPolicy> = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 30 }),
    baseDelayMs: fc.integer({ min: 1, max: 1000 }),
    maxDelayMs: fc.integer({ min: 1, max: 10_000 }),
    deadlineMs: fc.integer({ min: 1, max: 60_000 }),
    attemptTimeoutMs: fc.integer({ min: 1, max: 20_000 }),
    minAttemptMs: fc.integer({ min: 1, max: 1000 }),
  })
  .map((p) => ({ ...p, maxDelayMs: Math.max(p.maxDelayMs, p.baseDelayMs) }));

const transientStatus = fc.oneof(fc.constant(undefined), fc.constantFrom(408, 429), fc.integer({ min: 500, max: 599 }));
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('nextRetry', () => {
  it('waits a uniform share of a ceiling that doubles per attempt up to maxDelayMs (full jitter)', () => {
    const policy = { ...DEFAULT_PUBLISH_RETRY_POLICY, maxAttempts: 100, deadlineMs: 1e9 };
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffCeilingMs(policy, attempt))).toEqual([100, 200, 400, 800, 1600, 2000]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99 }), unit, (attempt, r) => {
        const decision = nextRetry(policy, { attempt, elapsedMs: 0, status: 503 }, () => r);
        expect(decision.retry).toBe(true);
        if (!decision.retry) return;
        expect(decision.delayMs).toBe(Math.floor(r * backoffCeilingMs(policy, attempt)));
        expect(decision.delayMs).toBeLessThan(Math.max(1, backoffCeilingMs(policy, attempt)));
      }),
    );
    // The extremes of the randomness: no wait at all, and just under the ceiling.
    expect(nextRetry(policy, { attempt: 3, elapsedMs: 0 }, () => 0)).toMatchObject({ retry: true, delayMs: 0 });
    expect(nextRetry(policy, { attempt: 3, elapsedMs: 0 }, () => 0.9999)).toMatchObject({ retry: true, delayMs: 399 });
  });

  it('waits at least the Retry-After, and gives up when it points past the deadline', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 30 }), fc.nat(60_000), fc.nat(120_000), unit, (policy, attempt, elapsedMs, retryAfterMs, r) => {
        const decision = nextRetry(policy, { attempt, elapsedMs, status: 503, retryAfterMs }, () => r);
        if (decision.retry) {
          expect(decision.delayMs).toBeGreaterThanOrEqual(retryAfterMs);
        } else if (attempt < policy.maxAttempts && elapsedMs + policy.minAttemptMs <= policy.deadlineMs) {
          expect(decision.reason).toBe('retry-after-past-deadline');
          expect(elapsedMs + retryAfterMs + policy.minAttemptMs).toBeGreaterThan(policy.deadlineMs);
        }
      }),
    );
  });

  it('never retries a permanent failure (4xx other than 408 and 429)', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 400, max: 499 }).filter((s) => s !== 408 && s !== 429),
        (policy, status) => {
          expect(isTransientStatus(status)).toBe(false);
          expect(nextRetry(policy, { attempt: 1, elapsedMs: 0, status })).toEqual({ retry: false, reason: 'permanent' });
        },
      ),
    );
  });

  it('a whole run of failures, however slow each attempt, ends within the deadline and the attempt cap', () => {
    fc.assert(
      fc.property(
        policyArb,
        // How much of its timeout each attempt used before failing, and what the target said.
        fc.array(fc.record({ used: fc.double({ min: 0, max: 1, noNaN: true }), status: transientStatus, retryAfterMs: fc.option(fc.nat(5000), { nil: undefined }), r: unit }), {
          minLength: 40,
          maxLength: 40,
        }),
        (policy, failures) => {
          let clock = 0;
          let timeoutMs = firstAttemptTimeoutMs(policy);
          let attempts = 0;
          for (const failure of failures) {
            attempts++;
            clock += Math.ceil(failure.used * timeoutMs);
            expect(timeoutMs).toBeGreaterThan(0);
            const decision = nextRetry(
              policy,
              {
                attempt: attempts,
                elapsedMs: clock,
                ...(failure.status !== undefined ? { status: failure.status } : {}),
                ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
              },
              () => failure.r,
            );
            if (!decision.retry) break;
            expect(decision.delayMs).toBeGreaterThanOrEqual(0);
            clock += decision.delayMs;
            timeoutMs = decision.timeoutMs;
            // The next attempt's timeout ends by the deadline and leaves it at least minAttemptMs.
            expect(clock + timeoutMs).toBeLessThanOrEqual(policy.deadlineMs);
            expect(timeoutMs).toBeGreaterThanOrEqual(Math.min(policy.minAttemptMs, policy.attemptTimeoutMs));
          }
          expect(attempts).toBeLessThanOrEqual(policy.maxAttempts);
          expect(clock).toBeLessThanOrEqual(policy.deadlineMs);
        },
      ),
    );
  });

  it('stops at the attempt cap and once no attempt fits before the deadline', () => {
    const policy = { ...DEFAULT_PUBLISH_RETRY_POLICY, maxAttempts: 3 };
    expect(nextRetry(policy, { attempt: 3, elapsedMs: 0 })).toEqual({ retry: false, reason: 'attempts' });
    expect(nextRetry(policy, { attempt: 1, elapsedMs: policy.deadlineMs - policy.minAttemptMs + 1 })).toEqual({ retry: false, reason: 'deadline' });
    // Close to the deadline the wait is shortened so the last attempt still gets minAttemptMs.
    const late = nextRetry(policy, { attempt: 2, elapsedMs: policy.deadlineMs - 300 }, () => 0.99);
    expect(late).toEqual({ retry: true, delayMs: 100, timeoutMs: 200 });
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates; ignores what it cannot read', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
    for (const junk of [null, undefined, '', '-1', '1.5', 'soon', '12abc']) expect(parseRetryAfter(junk, now)).toBeUndefined();
    fc.assert(fc.property(fc.nat(1_000_000), (s) => parseRetryAfter(String(s), now) === s * 1000));
  });
});

describe('the publisher follows the policy against a real HTTP target', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  /** Answers the first `failures` requests with 503 and the given Retry-After, then 200. */
  async function target(failures: number, retryAfter: string): Promise<{ url: string; arrivals: number[] }> {
    const arrivals: number[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        arrivals.push(Date.now());
        if (arrivals.length <= failures) res.writeHead(503, { 'Retry-After': retryAfter }).end('busy');
        else res.writeHead(200).end('Published\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals };
  }

  it('waits for the Retry-After before trying again', async () => {
    const t = await target(1, '1');
    const retries: PublishRetryReport[] = [];
    await createGripPublisher([{ control_uri: t.url }], { onRetry: (r) => retries.push(r) }).publish(closeItemsForChannel('c'));
    expect(t.arrivals).toHaveLength(2);
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(1000);
    expect(t.arrivals[1]! - t.arrivals[0]!).toBeGreaterThanOrEqual(990);
  });

  it('gives up at once when the Retry-After points past the deadline, saying so', async () => {
    const t = await target(5, '60');
    const error = await createGripPublisher([{ control_uri: t.url }]).publish(closeItemsForChannel('c')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).toMatchObject({ status: 503, gaveUp: expect.stringMatching(/Retry-After.*past the publish deadline.*1 attempt/) });
    expect(t.arrivals).toHaveLength(1);
  });

  it('a target that refuses connections is retried with backoff until the deadline, then reported', async () => {
    const t = await target(0, '0');
    servers.splice(0).forEach((s) => s.close());
    await new Promise((r) => setTimeout(r, 50));
    const retries: PublishRetryReport[] = [];
    const started = Date.now();
    const error = await createGripPublisher([{ control_uri: t.url }], {
      retryPolicy: { deadlineMs: 1500, maxAttempts: 100 },
      onRetry: (r) => retries.push(r),
    })
      .publish(closeItemsForChannel('c'))
      .catch((e: unknown) => e);
    const tookMs = Date.now() - started;
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).message).toMatch(/ECONNREFUSED/);
    expect((error as PublishError).gaveUp).toMatch(/deadline after \d+ attempts/);
    expect(retries.length).toBeGreaterThan(2);
    // Bounded by the deadline (plus the event loop's slack on a loaded machine).
    expect(tookMs).toBeLessThan(1500 + 1000);
    for (const [i, r] of retries.entries()) expect(r.delayMs).toBeLessThan(backoffCeilingMs(DEFAULT_PUBLISH_RETRY_POLICY, i + 1));
  });
});
