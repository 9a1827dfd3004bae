// Resident memory of a process and of everything it started (Pushpin's runner starts four services),
// read from /proc, for the soak's samples.
import { readFileSync } from 'node:fs';
import { descendantsOf } from '../shared/managedProcess.ts';

/** VmRSS in bytes; 0 when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The process and its descendants, in bytes. */
export function treeRssBytes(pid: number): number {
  return [pid, ...descendantsOf(pid)].reduce((sum, p) => sum + rssBytes(p), 0);
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
