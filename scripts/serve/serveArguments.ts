// The few `fastly compute serve` flags `npm run serve` must understand to run the origin and pick a
// Viceroy beside the Fastly CLI. Every argument still goes to the CLI unchanged; this only reads them.
// Spelled as the CLI (kingpin) accepts them: `--flag=value` or `--flag value`, `-C dir` / `-Cdir`.

export class ServeUsageError extends Error {
  override name = 'ServeUsageError';
}

export interface ServeArguments {
  help: boolean;
  viceroyPath?: string;
  /** `--viceroy-check`: the user wants the CLI's own Viceroy (it checks for, and downloads, the latest). */
  viceroyCheck: boolean;
  env?: string;
  dir?: string;
  addr?: string;
  pushpinProxyPort?: number;
  pushpinPublishPort?: number;
  experimentalEnablePushpin: boolean;
}

const VALUE_FLAGS: Record<string, keyof ServeArguments> = {
  '--viceroy-path': 'viceroyPath',
  '--env': 'env',
  '--dir': 'dir',
  '-C': 'dir',
  '--addr': 'addr',
  '--pushpin-proxy-port': 'pushpinProxyPort',
  '--pushpin-publish-port': 'pushpinPublishPort',
};

function port(flag: string, value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1 || number > 65535) {
    throw new ServeUsageError(`${flag} must be a port number between 1 and 65535, got "${value}"`);
  }
  return number;
}

export function parseServeArguments(args: string[]): ServeArguments {
  const parsed: ServeArguments = { help: false, viceroyCheck: false, experimentalEnablePushpin: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg === '--help' || arg === '-h') parsed.help = true;
    else if (arg === '--viceroy-check') parsed.viceroyCheck = true;
    else if (arg === '--experimental-enable-pushpin') parsed.experimentalEnablePushpin = true;
    let flag: string | undefined;
    let value: string | undefined;
    const equals = arg.indexOf('=');
    if (arg.startsWith('--') && equals !== -1 && arg.slice(0, equals) in VALUE_FLAGS) {
      flag = arg.slice(0, equals);
      value = arg.slice(equals + 1);
    } else if (arg in VALUE_FLAGS) {
      flag = arg;
      value = args[++i];
      if (value === undefined) throw new ServeUsageError(`${flag} needs a value`);
    } else if (arg.startsWith('-C') && arg.length > 2) {
      flag = '-C';
      value = arg.slice(2);
    }
    if (flag === undefined || value === undefined) continue;
    const key = VALUE_FLAGS[flag]!;
    if (key === 'pushpinProxyPort' || key === 'pushpinPublishPort') parsed[key] = port(flag, value);
    else if (key === 'viceroyPath' || key === 'env' || key === 'dir' || key === 'addr') {
      if (value === '') throw new ServeUsageError(`${flag} needs a value`);
      parsed[key] = value;
    }
  }
  return parsed;
}

/** `--addr` as host and port (the CLI's default is 127.0.0.1:7676). */
export function edgeAddress(parsed: ServeArguments): { host: string; port: number } {
  const addr = parsed.addr ?? '127.0.0.1:7676';
  const match = /^(.*):(\d+)$/.exec(addr);
  if (!match) throw new ServeUsageError(`--addr must be HOST:PORT, got "${addr}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1', port: port('--addr', match[2]!) };
}
