// CPU seconds and peak memory of the processes a benchmark run measures, read from /proc (Linux):
// CPU time is what the process used, however busy the machine was; peak RSS is the kernel's high-water
// mark (VmHWM) since the process started.
import { readFileSync } from 'node:fs';
import { descendantsOf } from '../../shared/processTree.mjs';

/** Kernel clock ticks per second for /proc/PID/stat times (USER_HZ; 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

export interface ProcessSample {
  pid: number;
  /** user + system CPU seconds so far, all threads. */
  cpuSeconds: number;
  /** Peak resident set size so far, bytes. */
  peakRssBytes: number;
}

/** utime + stime from the text of /proc/PID/stat (the command name may hold spaces and parentheses). */
export function cpuSecondsFromStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state(0) ppid(1) ... utime is field 14 of the whole line, index 11 here; stime 12.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** VmHWM from the text of /proc/PID/status, in bytes. */
export function peakRssFromStatus(status: string): number {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    return {
      pid,
      cpuSeconds: cpuSecondsFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8')),
      peakRssBytes: peakRssFromStatus(readFileSync(`/proc/${pid}/status`, 'utf8')),
    };
  } catch {
    return undefined; // gone
  }
}

export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return `pid ${pid}`;
  }
}

/** A named process to measure. */
export interface MeasuredProcess {
  /** e.g. "condure", "origin", "socket.io server", "load generator". */
  name: string;
  pid: number;
}

/** Pushpin's runner and the services it started (condure, zurl, pushpin-proxy, pushpin-handler...), by name. */
/**
 * The Pushpin runner and its children (condure, zurl, proxy, handler). `runnerPid` is the stack's
 * `pids.pushpin`, absent when the stack runs no Pushpin: a benchmark that measures Pushpin must start it.
 */
export function pushpinProcesses(runnerPid: number | undefined): MeasuredProcess[] {
  if (runnerPid === undefined) throw new Error('this benchmark measures Pushpin, and the stack runs none (start it with `pushpin: true`)');
  return [{ name: 'pushpin runner', pid: runnerPid }, ...descendantsOf(runnerPid).map((pid) => ({ name: processName(pid), pid }))];
}

export interface ProcessUsage {
  name: string;
  /** CPU seconds used between the two samples (the measured window). */
  cpuSeconds: number;
  /** Peak RSS since the process started (connect phase included), MB. */
  peakRssMb: number;
}

/** Samples now; the returned function samples again and gives each process's use in between. */
export function startUsageWindow(processes: MeasuredProcess[]): () => ProcessUsage[] {
  const before = new Map(processes.map((p) => [p.pid, sampleProcess(p.pid)]));
  return () =>
    processes.map((p) => {
      const start = before.get(p.pid);
      const end = sampleProcess(p.pid);
      return {
        name: p.name,
        cpuSeconds: start && end ? round(end.cpuSeconds - start.cpuSeconds, 2) : Number.NaN,
        peakRssMb: end ? round(end.peakRssBytes / 1048576, 1) : Number.NaN,
      };
    });
}

/** Adds up processes of the same name (several load processes, say). */
export function sumByName(usages: ProcessUsage[]): ProcessUsage[] {
  const byName = new Map<string, ProcessUsage>();
  for (const u of usages) {
    const seen = byName.get(u.name);
    if (!seen) byName.set(u.name, { ...u });
    else byName.set(u.name, { name: u.name, cpuSeconds: round(seen.cpuSeconds + u.cpuSeconds, 2), peakRssMb: round(seen.peakRssMb + u.peakRssMb, 1) });
  }
  return [...byName.values()];
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The soft limit on open files of this process (children inherit it), from /proc/self/limits. */
export function openFilesLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!match) return undefined;
    return match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** The 1-, 5- and 15-minute load averages, as `uptime` prints them. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a ?? NaN, b ?? NaN, c ?? NaN];
}
