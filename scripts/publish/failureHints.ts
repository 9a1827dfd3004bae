// Turns a failed publish request into what the user needs: the cause in one line, a hint that
// says what to do, and the exit code class. Hints depend on the target: a 401 from Fastly means a
// token problem, from the origin a PUBLISH_TOKEN mismatch.
import { PublishError } from '../../origin/publishing/gripPublisher.ts';
import { EXIT, type ExitCode } from './exitCodes.ts';
import type { TargetName } from './publishTargets.ts';

export type FailureKind = 'usage' | 'network' | 'rejected' | 'input';

export interface RunFailure {
  kind: FailureKind;
  message: string;
  hint?: string;
  status?: number;
  /** Bulk input line, when the failure belongs to one. */
  line?: number;
}

const EXIT_FOR: Record<FailureKind, ExitCode> = {
  usage: EXIT.usage,
  network: EXIT.network,
  rejected: EXIT.rejected,
  input: EXIT.badInput,
};

export function exitCodeFor(kind: FailureKind): ExitCode {
  return EXIT_FOR[kind];
}

/** The most serious failure decides the exit code: usage, network, rejected, then bad input. */
export function exitCodeForFailures(failures: readonly RunFailure[]): ExitCode {
  for (const kind of ['usage', 'network', 'rejected', 'input'] as const) {
    if (failures.some((f) => f.kind === kind)) return exitCodeFor(kind);
  }
  return EXIT.ok;
}

// Fastly's own Pub/Sub app publishes with a purge_select token limited to the service
// (github.com/fastly/pubsub, Setup); a global-scope token works too but can do far more (docs/deploy.md).
const FASTLY_TOKEN_HINT =
  'publishing needs an API token that can access this service: a purge_select-scope token limited to it ' +
  "(what Fastly's Pub/Sub app uses) or a global-scope one; create one under Account > API tokens " +
  'in the Fastly console and set FASTLY_API_TOKEN (see docs/deploy.md)';

function networkHint(target: TargetName, code: string): string {
  if (/timeout|aborted/i.test(code)) return 'no answer in time; check the target, or raise --timeout';
  const where: Record<TargetName, string> = {
    local: 'is the local stack running? start it with `npm start` (Pushpin publishes on 127.0.0.1:5561), or pass --grip-url',
    fastly: 'check the network and FASTLY_API_URL (default https://api.fastly.com)',
    origin: 'is the origin running? `npm start` starts it on 127.0.0.1:3000; set ORIGIN_URL for another address',
    'grip-url': 'is the proxy running at that URL? check --grip-url / GRIP_URL',
  };
  const dns = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name does not resolve; ' : '';
  return dns + where[target];
}

function statusHint(target: TargetName, status: number, retried: boolean): string | undefined {
  if (status === 401 || status === 403) {
    if (target === 'fastly') {
      return status === 401
        ? `Fastly did not accept FASTLY_API_TOKEN (missing, mistyped, expired or revoked); ${FASTLY_TOKEN_HINT}`
        : `the token is valid but may not publish to FASTLY_SERVICE_ID; ${FASTLY_TOKEN_HINT}`;
    }
    if (target === 'origin') return "PUBLISH_TOKEN must equal the origin's PUBLISH_TOKEN (the dev default is dev-publish-token)";
    return 'the proxy refused the credentials: check key= (and iss= for JWT) in the GRIP URL';
  }
  if (status === 413) {
    return (
      'the request was over the publish limit (64 KiB for Fastly Fanout and the local Pushpin). A message must ' +
      'fit in 64 KiB once framed for every transport (the SSE and long-poll framings escape the JSON, so keep ' +
      'data well under it); for a target with a smaller limit lower --batch'
    );
  }
  if (status === 404) {
    if (target === 'origin') {
      return 'the origin has no such endpoint: ORIGIN_URL must be the origin itself (not the proxy), running this version';
    }
    if (target === 'fastly') {
      return 'no such service, or Fanout is not enabled on it: check FASTLY_SERVICE_ID and run `fastly products --enable=fanout`';
    }
    return 'nothing publishes at that path: a GRIP URL is the control URL without /publish/ (e.g. http://127.0.0.1:5561)';
  }
  if (status === 409) {
    return 'the id is not above the last id on that channel (or is already stored with other data); drop --id to let the origin number it';
  }
  if (status === 503 && target === 'origin') {
    return "the origin's history store (Redis) is unavailable; nothing was stored. Check REDIS_URL and that Redis runs, then publish again";
  }
  if (status === 400) return 'the target did not accept the request body; the message above says why';
  if (status === 502 && target === 'origin') {
    return (
      "the origin stored the messages but its GRIP proxy did not take them (do not publish them again: streams " +
      "recover them with the next message, reconnecting clients get them): check the origin's GRIP_URL and that Pushpin runs"
    );
  }
  if (status === 429 || status >= 500) {
    return retried ? 'the target kept failing after every retry; try again later or raise --retries' : 'try again later';
  }
  return undefined;
}

export function describeSendFailure(error: unknown, target: TargetName, attempts: number): RunFailure {
  if (error instanceof PublishError) {
    if (error.status === undefined) {
      const cause = error.cause as { cause?: { code?: string }; name?: string } | undefined;
      const code = cause?.cause?.code ?? cause?.name ?? error.message;
      const hint = networkHint(target, code);
      const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
      const timedOut = /timeout|aborted/i.test(code) ? `no answer from ${error.target} in time` : error.message;
      return { kind: 'network', message: `${timedOut}${tries}`, hint };
    }
    const retried = attempts > 1 && (error.status === 408 || error.status === 429 || error.status >= 500);
    const failure: RunFailure = {
      kind: 'rejected',
      message: retried ? `${error.message} (after ${attempts} attempts)` : error.message,
      status: error.status,
    };
    const hint = statusHint(target, error.status, retried);
    if (hint) failure.hint = hint;
    return failure;
  }
  throw error;
}
