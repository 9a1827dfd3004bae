// A Viceroy-compatible command line for the local Compute host, so `fastly compute serve
// --viceroy-path=scripts/compute-host/viceroy` and the local stack start it the same way:
//   <host> [-v...] -C fastly.toml --addr 127.0.0.1:7676 bin/main.wasm [--local-pushpin-proxy-port=7677]
import { resolve } from 'node:path';
import { ComputeHostError, startComputeHost } from './computeHost.ts';
import { onBrokenOutput, outputIsOpen } from '../shared/brokenOutput.ts';

/** What `--version` prints; the Fastly CLI only shows it. */
export const HOST_VERSION = 'viceroy 0.14.0 (fanout-forward Node compute host, js-compute-runtime 3.46 ABI)';

export interface HostCommandLine {
  wasmPath: string;
  manifestPath: string;
  host: string;
  port: number;
  pushpinProxyPort?: number;
  verbose: number;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: viceroy [serve] [-v...] [-C fastly.toml] [--addr 127.0.0.1:7676] [--local-pushpin-proxy-port=N] bin/main.wasm
       viceroy --version

Runs a Fastly Compute wasm (js-compute-runtime) locally, as Viceroy does, in Node.
Environment: FASTLY_POP, FASTLY_SERVICE_VERSION, FASTLY_HOSTNAME, ... override the guest's values;
COMPUTE_HOST_WORKERS / COMPUTE_HOST_MAX_WORKERS size the guest worker pool (default 4 / 64);
COMPUTE_HOST_QUEUE_LIMIT (default 1024) and COMPUTE_HOST_QUEUE_TIMEOUT_MS (default 15000) bound the
requests waiting for a worker: past either, a request is answered 503; COMPUTE_HOST_HEAD_TIMEOUT_MS
(default 30000) is how long a client may take to send a request head before it is answered 408.`;

function parsePort(value: string, what: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 0 || port > 65535) throw new UsageError(`${what} must be a port number, got "${value}"`);
  return port;
}

export function parseHostArgs(argv: string[], warn: (line: string) => void = () => {}): HostCommandLine | 'version' | 'help' {
  const args = [...argv];
  if (args[0] === 'serve') args.shift();
  let manifestPath = 'fastly.toml';
  let addr = '127.0.0.1:7676';
  let pushpinProxyPort: number | undefined;
  let verbose = 0;
  let wasmPath: string | undefined;
  while (args.length > 0) {
    const arg = args.shift()!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? args.shift();
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--version' || flag === '-V') return 'version';
    if (flag === '--help' || flag === '-h') return 'help';
    if (/^-v+$/.test(flag)) verbose += flag.length - 1;
    else if (flag === '--verbose') verbose += 1;
    else if (flag === '-C' || flag === '--config') manifestPath = value();
    else if (flag === '--addr') addr = value();
    else if (flag === '--local-pushpin-proxy-port') pushpinProxyPort = parsePort(value(), '--local-pushpin-proxy-port');
    else if (flag.startsWith('-')) warn(`ignoring unsupported option ${arg}`);
    else if (wasmPath === undefined) wasmPath = arg;
    else throw new UsageError(`unexpected argument "${arg}"`);
  }
  if (!wasmPath) throw new UsageError('missing the wasm module to run (e.g. bin/main.wasm)');
  const match = /^(.*):(\d+)$/.exec(addr);
  if (!match) throw new UsageError(`--addr must be HOST:PORT, got "${addr}"`);
  return {
    wasmPath: resolve(wasmPath),
    manifestPath: resolve(manifestPath),
    host: match[1]!.replace(/^\[|\]$/g, ''),
    port: parsePort(match[2]!, '--addr port'),
    ...(pushpinProxyPort !== undefined ? { pushpinProxyPort } : {}),
    verbose,
  };
}

function positiveInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`${name} must be a positive integer, got "${raw}"`);
  return Number(raw);
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseHostArgs>;
  try {
    parsed = parseHostArgs(process.argv.slice(2), (line) => console.error(`compute-host: ${line}`));
  } catch (error) {
    console.error(`compute-host: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed === 'version') {
    console.log(HOST_VERSION);
    return;
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  try {
    const minWorkers = positiveInt('COMPUTE_HOST_WORKERS');
    const maxWorkers = positiveInt('COMPUTE_HOST_MAX_WORKERS');
    const queueLimit = positiveInt('COMPUTE_HOST_QUEUE_LIMIT');
    const queueTimeoutMs = positiveInt('COMPUTE_HOST_QUEUE_TIMEOUT_MS');
    const headTimeoutMs = positiveInt('COMPUTE_HOST_HEAD_TIMEOUT_MS');
    const host = await startComputeHost({
      ...parsed,
      ...(minWorkers ? { minWorkers } : {}),
      ...(maxWorkers ? { maxWorkers } : {}),
      ...(queueLimit ? { queueLimit } : {}),
      ...(queueTimeoutMs ? { queueTimeoutMs } : {}),
      ...(headTimeoutMs ? { headTimeoutMs } : {}),
    });
    const pushpin = parsed.pushpinProxyPort ? `, Fanout handoffs to Pushpin on 127.0.0.1:${parsed.pushpinProxyPort}` : ', no Pushpin (handoffs answer 500)';
    console.log(`compute-host: running ${parsed.wasmPath} with ${parsed.manifestPath}${pushpin}`);
    console.log(`Listening on ${host.url}`);
    // One broken connection must not take the host down, as it does not take Viceroy down.
    process.on('uncaughtException', (error) => {
      if (outputIsOpen()) console.error(`compute-host: unexpected error (still serving): ${error.stack ?? error.message}`);
    });
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      // Bounded: open connections or a busy guest must not hold the process (the stack SIGKILLs at 1.5 s).
      setTimeout(() => process.exit(0), 1000).unref();
      void host.stop().then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop);
    // Whoever read our log is gone (EPIPE; EIO for a closed terminal): stop instead of failing every write.
    onBrokenOutput(stop);
  } catch (error) {
    if (error instanceof ComputeHostError || error instanceof UsageError) {
      console.error(`compute-host: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${resolve(process.argv[1])}`).href) await main();
