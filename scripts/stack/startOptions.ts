// The command line of `npm start` (scripts/start.ts): which manifest, which edge port, where the logs
// go. Parsed with node:util parseArgs; every bad value is a UsageError naming the option.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { EchoMode } from './echoPolicy.ts';
import { DEFAULT_EDGE_PORT } from './localStack.ts';
import {
  DEFAULT_PUSHPIN_PROFILE,
  parsePushpinProfileName,
  PUSHPIN_PROFILE_ENV,
  PushpinProfileError,
  pushpinProfileFromEnv,
  type PushpinProfileName,
} from '../pushpin/pushpinProfiles.ts';

export interface StartOptions {
  /** Absolute path of the fastly.toml the stack is started from. */
  manifestPath: string;
  /** The edge's port (the local Compute host), as `fastly compute serve --addr 127.0.0.1:PORT`. */
  edgePort: number;
  /** Absolute path of the directory for the logs and generated files. */
  logDir: string;
  /** The children's output in the terminal: warnings and errors (default), every line (--verbose), none (--quiet). */
  echo: EchoMode;
  /** Rebuild and restart the edge when edge/ changes, restart the origin when origin/ changes. */
  watch: boolean;
  /** Pushpin's proxy on every interface instead of 127.0.0.1 (LocalStackOptions.pushpinListenAll). */
  pushpinListenAll: boolean;
  /** Pushpin's delivery settings (LocalStackOptions.pushpinProfile). */
  pushpinProfile: PushpinProfileName;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const START_USAGE = `Usage: npm start [-- [--config fastly.toml] [--edge-port 7676] [--log-dir pushpin-logs] [--watch]
                        [--pushpin-listen-all] [--pushpin-profile NAME] [--quiet | --verbose]]

Starts the local stack from a Fastly manifest: the edge (bin/main.wasm on the local Compute host),
Pushpin (unless [local_server.pushpin] enable is not true) and the origin, in the foreground.
bin/main.wasm is rebuilt when edge/ is newer. Manifest settings the local stack does not support
(KV stores, secret stores, ACLs, ...) are named in a warning.

  -C, --config FILE     the manifest (default ./fastly.toml). Its [local_server.backends.origin] url
                        gives the origin's port (3000), [local_server.pushpin] proxy_port and
                        publish_port (7677, 5561; 5562-5564 follow the publish port) Pushpin's.
                        Copy fastly.toml and change those to run a second stack beside the first.
      --edge-port PORT  the edge's port (default 7676)
      --log-dir DIR     logs and generated files (default ./pushpin-logs)
  -w, --watch           when edge/ changes, rebuild bin/main.wasm and restart the edge (a failed
                        build keeps the running one); when origin/ changes, restart the origin.
                        Pushpin keeps running and holding its clients; see docs/local-development.md, Watch mode
      --pushpin-listen-all
                        Pushpin's proxy (7677) listens on every interface (0.0.0.0), not only on
                        127.0.0.1, e.g. for a load generator on another machine. The stack runs with
                        development keys: anyone who reaches that port reaches the origin through it.
                        The edge, the origin and the publish ports stay on 127.0.0.1.
      --pushpin-profile NAME
                        Pushpin's delivery settings (scripts/pushpin/pushpinProfiles.ts):
                          fanout       Fastly Fanout's per-connection settings: 8 KiB client
                                       buffers, 60 s duplicate-id cache, 20 subscriptions
                          fanout-node  fanout plus Fanout's node-wide limits (2500 deliveries/s,
                                       25000 queued)
                          gentle       256 KiB client buffers, no shaping, no id cache
                        Default: \$${PUSHPIN_PROFILE_ENV} when set, else ${DEFAULT_PUSHPIN_PROFILE}.
  -q, --quiet           show none of the children's output (it is in their logs, see --log-dir)
  -v, --verbose         show all of it: Pushpin's INFO lines, the origin's info logs, a line per
                        edge request. By default only warnings and errors are shown
  -h, --help            this text

Environment for the origin (PUBLISH_TOKEN, HISTORY_*, REDIS_URL, ...) is passed on.

Stopping: Ctrl-C, SIGTERM or SIGHUP (a closed terminal) stop every process within 3 s, also during
start-up. If npm or this process is killed outright (SIGKILL), every child stops by itself within 5 s.
It also stops when its output can no longer be written (the terminal or the reading pipe is gone).`;

function port(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new UsageError(`${option} must be a port number (1-65535), got "${value}"`);
  return n;
}

export interface StartDefaults {
  /** Relative paths given on the command line resolve here (npm runs scripts in the package root and
   * names the directory the user typed in as INIT_CWD). */
  cwd: string;
  manifestPath: string;
  logDir: string;
  /** Where PUSHPIN_PROFILE is read (without --pushpin-profile); none: the default profile. */
  env?: NodeJS.ProcessEnv;
}

/** The profile --pushpin-profile names, else PUSHPIN_PROFILE's, else the default. */
function profileOption(value: string | undefined, env: NodeJS.ProcessEnv): PushpinProfileName {
  try {
    return value === undefined ? pushpinProfileFromEnv(env) : parsePushpinProfileName(value, '--pushpin-profile');
  } catch (error) {
    if (error instanceof PushpinProfileError) throw new UsageError(error.message);
    throw error;
  }
}

/** Parses the arguments after `npm start --`; 'help' when help was asked for. */
export function parseStartOptions(argv: string[], defaults: StartDefaults): StartOptions | 'help' {
  let parsed: ReturnType<typeof parseStartArgs>;
  try {
    parsed = parseStartArgs(argv);
  } catch (error) {
    // parseArgs' own errors (unknown option, missing value) are usage errors too.
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.quiet && values.verbose) throw new UsageError('--quiet and --verbose cannot be given together');
  for (const name of ['config', 'log-dir'] as const) {
    if (values[name] === '') throw new UsageError(`--${name} needs a non-empty value`);
  }
  return {
    manifestPath: values.config === undefined ? defaults.manifestPath : resolve(defaults.cwd, values.config),
    edgePort: values['edge-port'] === undefined ? DEFAULT_EDGE_PORT : port(values['edge-port'], '--edge-port'),
    logDir: values['log-dir'] === undefined ? defaults.logDir : resolve(defaults.cwd, values['log-dir']),
    echo: values.quiet ? 'none' : values.verbose ? 'all' : 'problems',
    watch: values.watch ?? false,
    pushpinListenAll: values['pushpin-listen-all'] ?? false,
    pushpinProfile: profileOption(values['pushpin-profile'], defaults.env ?? {}),
  };
}

function parseStartArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'C' },
      'edge-port': { type: 'string' },
      'log-dir': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean', short: 'v' },
      watch: { type: 'boolean', short: 'w' },
      'pushpin-listen-all': { type: 'boolean' },
      'pushpin-profile': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
