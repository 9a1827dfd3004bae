// The publish CLI's exit codes: scripts can tell "fix the command" from "the network is down" from
// "the target said no" without parsing text. Documented in --help and the README.
export const EXIT = {
  ok: 0,
  /** A bug or an unexpected failure inside the CLI. */
  internal: 1,
  /** Bad arguments or environment: nothing was sent. */
  usage: 2,
  /** The target could not be reached (connection refused, DNS, timeout). */
  network: 3,
  /** The target answered with an error status (401, 403, 413, 5xx after retries, ...). */
  rejected: 4,
  /** Some input lines were invalid or too large and were skipped; everything else was sent. */
  badInput: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A problem with the command line or environment, reported with a hint and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}
