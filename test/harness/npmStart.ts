// `npm start` as a user runs it, for process-lifecycle tests: a copy of fastly.toml with free ports in a
// temporary directory, `npm start -- --config ... --edge-port ... --log-dir ...` spawned as the leader of
// its own process group (as a shell runs a job), and a view of every process of the stack it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import type { TestContext } from 'vitest';
import { descendantsOf, isAlive } from '../../scripts/shared/managedProcess.ts';
import { findFreePort, findFreePortRange, isPortFree } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

export interface StackPortSet {
  origin: number;
  pushpinProxy: number;
  /** Pushpin's publish port; the three after it are its ZeroMQ ports. */
  pushpinPublish: number;
  edge: number;
}

/** Every port a stack on `ports` binds. */
export function allPorts(ports: StackPortSet): number[] {
  return [ports.edge, ports.origin, ports.pushpinProxy, ports.pushpinPublish, ports.pushpinPublish + 1, ports.pushpinPublish + 2, ports.pushpinPublish + 3];
}

export type ManifestTable = Record<string, unknown>;

/**
 * Writes fastly.toml with the origin backend and Pushpin on free ports into `dir`; returns its path.
 * `edit` may change the parsed manifest before it is written (a test's own settings).
 */
export async function writeFreePortManifest(
  dir: string,
  edit?: (manifest: ManifestTable) => void,
  root = PROJECT_ROOT,
): Promise<{ manifestPath: string; ports: StackPortSet }> {
  const ports: StackPortSet = {
    origin: await findFreePort(),
    pushpinProxy: await findFreePort(),
    pushpinPublish: await findFreePortRange(4),
    edge: await findFreePort(),
  };
  const manifest = parseToml(readFileSync(join(root, 'fastly.toml'), 'utf8')) as ManifestTable;
  const localServer = manifest.local_server as ManifestTable;
  const origin = (localServer.backends as ManifestTable).origin as ManifestTable;
  origin.url = `http://127.0.0.1:${ports.origin}`;
  origin.override_host = `127.0.0.1:${ports.origin}`;
  const pushpin = localServer.pushpin as ManifestTable;
  pushpin.proxy_port = ports.pushpinProxy;
  pushpin.publish_port = ports.pushpinPublish;
  // Relative to the manifest's directory, as the Fastly CLI reads it: absolute for a copy elsewhere.
  if (typeof pushpin.pushpin_path === 'string' && !isAbsolute(pushpin.pushpin_path)) pushpin.pushpin_path = join(root, pushpin.pushpin_path);
  edit?.(manifest);
  const manifestPath = join(dir, 'fastly.toml');
  writeFileSync(manifestPath, stringifyToml(manifest));
  return { manifestPath, ports };
}

export interface NpmStart {
  /** The `npm` process: the top of the tree, what an IDE or a closed terminal kills. */
  child: ChildProcess;
  pid: number;
  ports: StackPortSet;
  logDir: string;
  urls: { edge: string; origin: string; pushpinProxy: string };
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once `pattern` appears in the output; rejects when npm exits first or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the npm process has exited. */
  exited: Promise<void>;
  /** Every descendant of npm right now (sh, tsx, start.ts, the stack and whatever it spawned). */
  tree(): number[];
  /** Signals the whole process group, as a terminal does on Ctrl-C or when it closes. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Last resort for test cleanup: SIGKILLs every process listed (and npm's group). */
  killAll(pids: number[]): void;
}

export interface NpmStartOptions {
  env?: Record<string, string>;
  /** Echo the children's output (default: --quiet). */
  quiet?: boolean;
  /** More arguments for `npm start --` (e.g. --watch). */
  args?: string[];
  /** Changes to the manifest copy, before it is written. */
  editManifest?: (manifest: ManifestTable) => void;
  /** The checkout to run `npm start` in (default this repository; a temporary copy, say). */
  root?: string;
}

export async function startNpmStart(options: NpmStartOptions = {}): Promise<NpmStart> {
  const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  const { manifestPath, ports } = await writeFreePortManifest(dir, options.editManifest, options.root);
  const logDir = join(dir, 'logs');
  const child = spawn(
    'npm',
    [
      'start', '--',
      '--config', manifestPath,
      '--edge-port', String(ports.edge),
      '--log-dir', logDir,
      ...(options.quiet === false ? [] : ['--quiet']),
      ...(options.args ?? []),
    ],
    {
      cwd: options.root ?? PROJECT_ROOT,
      env: { ...process.env, PUBLISH_TOKEN: 'lifecycle-test-token', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  if (child.pid === undefined) throw new Error('npm start did not spawn');
  const pid = child.pid;
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (const wake of waiters) wake();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    for (const wake of waiters) wake();
  });
  const waitForOutput = async (pattern: RegExp, timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(text)) {
      if (hasExited) throw new Error(`npm start exited before printing ${pattern}:\n${text}`);
      if (Date.now() > deadline) throw new Error(`npm start did not print ${pattern} within ${timeoutMs} ms:\n${text}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
        setTimeout(wake, 200).unref();
      });
    }
  };
  const signal = (target: number, name: NodeJS.Signals): void => {
    try {
      process.kill(target, name);
    } catch {
      // gone already
    }
  };
  return {
    child,
    pid,
    ports,
    logDir,
    urls: { edge: `http://127.0.0.1:${ports.edge}`, origin: `http://127.0.0.1:${ports.origin}`, pushpinProxy: `http://127.0.0.1:${ports.pushpinProxy}` },
    output: () => text,
    waitForOutput,
    exited,
    tree: () => descendantsOf(pid),
    signalGroup: (name) => signal(-pid, name),
    killAll: (pids) => {
      signal(-pid, 'SIGKILL');
      for (const p of pids) signal(p, 'SIGKILL');
    },
  };
}

/**
 * `npm start` with `options`, once it has said the stack is up. When the test of `context` finishes
 * (the context's hook, right also for concurrent tests), npm's group and every process its tree had
 * then are SIGKILLed: whatever the test did not stop.
 */
export async function startNpmStartUp(context: Pick<TestContext, 'onTestFinished'>, options: NpmStartOptions = {}): Promise<NpmStart> {
  const npm = await startNpmStart(options);
  let seen: number[] = [];
  context.onTestFinished(() => npm.killAll(seen));
  await npm.waitForOutput(/Local stack is up/, 90_000);
  seen = npm.tree();
  return npm;
}

/** Ctrl-C to `npm start` (its whole group); reports once every process of its tree is gone and every port free, or after `timeoutMs`. */
export function interruptNpmStart(npm: NpmStart, timeoutMs: number): Promise<GoneReport> {
  const members = npm.tree();
  npm.signalGroup('SIGINT');
  return waitUntilGone([npm.pid, ...members], allPorts(npm.ports), timeoutMs);
}

export interface GoneReport {
  /** Milliseconds from the call until every pid had exited and every port was free again. */
  elapsedMs: number;
  alive: number[];
  busyPorts: number[];
}

/** Polls until none of `pids` is alive and every port in `ports` can be bound, or `timeoutMs` passed. */
export async function waitUntilGone(pids: number[], ports: number[], timeoutMs: number): Promise<GoneReport> {
  const start = Date.now();
  for (;;) {
    const alive = pids.filter(isAliveNotZombie);
    const busyPorts: number[] = [];
    if (alive.length === 0) {
      for (const port of ports) if (!(await isPortFree(port))) busyPorts.push(port);
    }
    const elapsedMs = Date.now() - start;
    if ((alive.length === 0 && busyPorts.length === 0) || elapsedMs > timeoutMs) return { elapsedMs, alive, busyPorts };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** For test logs: "all gone, ports free" or what is left. */
export function outcome(report: GoneReport): string {
  if (report.alive.length > 0) return `${report.alive.length} still running`;
  if (report.busyPorts.length > 0) return `ports ${report.busyPorts.join(', ')} still bound`;
  return 'all gone, ports free';
}

/** A zombie has exited (it only waits for its parent to read its status), so it counts as gone. */
export function isAliveNotZombie(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the comm field: state is field 3, utime 14 and stime 15 (1-based), in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The command line of a live process, for messages. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
}
