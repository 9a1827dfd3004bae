// zurl's raised limits, for the Pushpin versions that run zurl (before 1.38). The runner renders zurl's
// config from `<libdir>/runner/zurl.conf.template`, and the package's template is not configurable, so
// both our generator (pushpinConfig.ts) and the Fastly CLI's adapted config (pushpinConfigAdapter.ts)
// point `[global] libdir` at a directory of our own that holds only that template, and include the
// package's internal.conf by its absolute path. Callers: pushpinProcess.ts (`npm start`, the tests)
// and pushpinWrapper.ts (`npm run serve`).
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * zurl makes every request the 1.36-1.37 proxy sends to an origin, WebSocket-over-HTTP events
 * included (an OPEN and a TEXT per new WebSocket). The proxy hands each to zurl over a ZeroMQ PUSH
 * socket and, when that socket cannot take it at once, fails the request (zhttprequest.cpp,
 * ErrorUnavailable), which the client sees as `502 Error while proxying to origin.`. The socket fills
 * as soon as zurl reads slower than new connections arrive: its input queue (in_hwm) is 1000
 * messages and it stops reading at max_open_requests=2000 requests in progress (the package's
 * template). Measured here: WebSockets opened at 200/s got their first 502s after ~3,100 and 1,645
 * of 6,000 failed; at 50/s a few dozen failed. Raised, a burst waits in zurl's queue instead of being
 * refused (the proxy's own 60 s request expiry still bounds the wait).
 */
export const ZURL_LIMITS = {
  /** Requests in progress before zurl stops reading: one per connection the proxy can hold. */
  maxOpenRequests: 50000,
  /** Messages queued for zurl before the proxy's socket fills: a burst of every connection at once. */
  inHwm: 50000,
  /** Responses queued for the proxy (the package's 1000 would drop them past that). */
  outHwm: 50000,
} as const;

/** Where the runner looks for zurl's template, relative to `[global] libdir`. */
export const ZURL_TEMPLATE_PATH = join('runner', 'zurl.conf.template');

/** Our own libdir (absolute) and the package's, the one that holds internal.conf (Debian: /usr/lib/pushpin). */
export interface ZurlLibdirs {
  own: string;
  package: string;
}

/**
 * The zurl config template the runner renders into `{rundir}/{ipc_prefix}zurl.conf`: the sockets and
 * the policy of the package's template (runner/zurl.conf.template, 1.36), with ZURL_LIMITS.
 */
export function buildZurlTemplate(): string {
  return [
    '# Written by scripts/pushpin (zurlLibdir.ts); the runner renders it for zurl.',
    '[General]',
    'instance_id=',
    'in_spec=ipc://{{ rundir }}/{{ ipc_prefix }}zurl-in',
    'in_stream_spec=ipc://{{ rundir }}/{{ ipc_prefix }}zurl-in-stream',
    'out_spec=ipc://{{ rundir }}/{{ ipc_prefix }}zurl-out',
    'in_req_spec=',
    // As the package: the proxy marks its route targets as trusted, so local origins still work.
    'defpolicy=allow',
    'allow=',
    'deny=127.*,10.*,192.168.*,*.local',
    `max_open_requests=${ZURL_LIMITS.maxOpenRequests}`,
    'buffer_size=200000',
    'timeout=600',
    `in_hwm=${ZURL_LIMITS.inHwm}`,
    `out_hwm=${ZURL_LIMITS.outHwm}`,
    '',
  ].join('\n');
}

/** Writes `template` as the zurl template of the libdir `own` (created if needed). */
export function writeOwnLibdir(own: string, template: string): void {
  const path = join(own, ZURL_TEMPLATE_PATH);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, template);
}

/**
 * The package's library directory, the one with internal.conf: <prefix>/lib/pushpin for a binary in
 * <prefix>/bin (Debian: /usr/lib/pushpin). Undefined when it is not there (a build run from its tree):
 * the config then keeps `{libdir}` and zurl the package's limits.
 */
export function packageLibdirOf(binaryPath: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(binaryPath);
  } catch {
    return undefined;
  }
  const dir = resolve(dirname(real), '..', 'lib', 'pushpin');
  return existsSync(join(dir, 'internal.conf')) ? dir : undefined;
}
