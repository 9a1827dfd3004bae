// What a benchmark's results record about the machine they were taken on: one description for every
// bench that writes a results document (fan-out, chat).
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { ensurePushpin } from '../pushpin/ensurePushpin.ts';
import { formatVersion } from '../pushpin/pushpinVersion.ts';
import { loadAverage, openFilesLimit } from './fanout/processUsage.ts';

export interface BenchMachine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  pushpin: string;
  openFilesLimit: number | null;
}

export function benchMachine(): BenchMachine {
  let pushpin = 'unknown';
  try {
    pushpin = formatVersion(ensurePushpin(undefined, () => {}).version);
  } catch {
    // reported as unknown; starting the stack says why
  }
  const limit = openFilesLimit();
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.versions.node,
    pushpin,
    openFilesLimit: limit === undefined || !Number.isFinite(limit) ? null : limit,
  };
}

/** `uptime`'s line (load averages), or the load averages alone where there is no `uptime`. */
export function uptimeLine(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadAverage().join(', ')}`;
  }
}
