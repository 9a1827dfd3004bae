// The publishing loop: checks and frames each message, groups them into batches, keeps up to
// `concurrency` requests in flight (one by default, so order is kept while the next batch is being
// framed) and counts what was sent and what failed. It stops at the first request that fails after
// its retries: the next ones would almost always fail the same way. Invalid lines are skipped and
// reported; they do not stop the run.
import { performance } from 'node:perf_hooks';
import { describeSendFailure, type RunFailure } from './failureHints.ts';
import type { ParsedLine } from './messageInput.ts';
import type { PublishTuning } from './publishCommand.ts';
import { InputRejected, type PreparedMessage, type PublishSink, type SentBatch } from './publishSinks.ts';
import type { TargetName } from './publishTargets.ts';

export interface RunStats {
  /** Messages every target accepted. */
  sent: number;
  /** Messages in requests that failed, plus invalid input lines. */
  failed: number;
  /** Input lines skipped as invalid or too large (included in failed). */
  invalid: number;
  /** GRIP items accepted (4 per message, 3 per close); 0 for the origin, which frames them itself. */
  gripItems: number;
  requests: number;
  retries: number;
  elapsedMs: number;
}

export interface RunResult extends RunStats {
  failures: RunFailure[];
  /** Ids of sent messages, kept for single-message runs. */
  ids: string[];
  /** True when a failed request stopped the run before the input ended. */
  stopped: boolean;
}

export type RunEntry = ParsedLine | { ok: 'close'; channel: string };

export interface RunOptions {
  sink: PublishSink;
  target: TargetName;
  tuning: PublishTuning;
  keepIds: boolean;
  onProgress?: (stats: RunStats) => void;
}

export interface RunCounters {
  requests: number;
  retries: number;
}

export async function runPublish(
  entries: AsyncIterable<RunEntry> | Iterable<RunEntry>,
  options: RunOptions,
  counters: RunCounters,
): Promise<RunResult> {
  const { sink, tuning } = options;
  const started = performance.now();
  const result: RunResult = {
    sent: 0,
    failed: 0,
    invalid: 0,
    gripItems: 0,
    requests: 0,
    retries: 0,
    elapsedMs: 0,
    failures: [],
    ids: [],
    stopped: false,
  };
  const snapshot = (): RunStats => {
    result.requests = counters.requests;
    result.retries = counters.retries;
    result.elapsedMs = performance.now() - started;
    return result;
  };
  const inFlight = new Set<Promise<void>>();
  let stop = false;

  const dispatch = async (batch: PreparedMessage[]): Promise<void> => {
    // Serialise the request while the previous one is still in flight, off the critical path; an
    // encoding error is reported when the batch's turn comes, as if send had rejected.
    let sendBatch: () => Promise<SentBatch>;
    if (sink.encode && !stop) {
      try {
        sendBatch = sink.encode(batch);
      } catch (error) {
        sendBatch = () => Promise.reject(error);
      }
    } else {
      sendBatch = () => sink.send(batch);
    }
    while (inFlight.size >= tuning.concurrency) await Promise.race(inFlight);
    if (stop) {
      result.failed += batch.length;
      return;
    }
    const request: Promise<void> = sendBatch().then(
      (sent) => {
        result.sent += batch.length;
        result.gripItems += sent.items;
        if (options.keepIds) result.ids.push(...sent.ids);
        options.onProgress?.(snapshot());
      },
      (error: unknown) => {
        result.failed += batch.length;
        result.failures.push(describeSendFailure(error, options.target, tuning.attempts));
        stop = true;
      },
    );
    const tracked = request.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    // Let the HTTP client write the request now: reading and framing the next batch runs on
    // microtasks only and would otherwise hold the write back until that batch is ready.
    await new Promise<void>((resolve) => setImmediate(resolve));
  };

  let batch: PreparedMessage[] = [];
  for await (const entry of entries) {
    if (stop) {
      result.stopped = true;
      break;
    }
    let prepared: PreparedMessage;
    try {
      if (entry.ok === 'close') prepared = sink.prepareClose(entry.channel);
      else if (entry.ok) prepared = sink.prepare(entry.message);
      else throw new InputRejected(entry.error);
    } catch (error) {
      if (!(error instanceof InputRejected)) throw error;
      const line = entry.ok === false ? entry.line : entry.ok === true ? entry.message.line : undefined;
      result.failed++;
      result.invalid++;
      result.failures.push({ kind: 'input', message: error.message, ...(line !== undefined ? { line } : {}) });
      continue;
    }
    batch.push(prepared);
    if (batch.length >= tuning.batchSize) {
      await dispatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) {
    if (stop) result.stopped = true;
    await dispatch(batch);
  }
  await Promise.all(inFlight);
  snapshot();
  return result;
}
