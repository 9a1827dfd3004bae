// The whole local stack as `fastly compute serve` would have it: Pushpin configured from fastly.toml,
// the origin behind it, and (once built) the edge on 7676. `npm start` and the end-to-end tests both
// use this; tests pass their own free ports so they never collide with a running stack.
import { echoFor, type StackChild } from './echoPolicy.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest, unsupportedSettingsWarning, type ManifestBackend } from '../shared/fastlyManifest.ts';
import { startManagedProcess, type ManagedProcess } from '../shared/managedProcess.ts';
import { assertPortsFree } from '../shared/ports.ts';
import { startLocalOrigin } from './localOrigin.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';
import { startPushpin, type RunningPushpin } from '../pushpin/pushpinProcess.ts';
import { DEFAULT_PUSHPIN_PROFILE, type PushpinProfileName } from '../pushpin/pushpinProfiles.ts';
import { writeEdgeManifest, type EdgeBackendOverride } from '../compute-host/edgeManifest.ts';
import { EDGE_WASM } from '../compute-host/edgeBuild.ts';

/** The fastly.toml backend the origin in this repository serves. */
export const ORIGIN_BACKEND = 'origin';

export interface StackPorts {
  origin: number;
  pushpinProxy: number;
  pushpinPublish: number;
  /** The edge (local Compute host running bin/main.wasm), when started. */
  edge?: number;
}

/** The edge on the local Compute host (scripts/compute-host), as `fastly compute serve` runs Viceroy. */
export interface EdgeOptions {
  /** Default bin/main.wasm; it must exist (see scripts/compute-host/edgeBuild.ts). */
  wasmPath?: string;
  /** More backends (name -> url), e.g. a test server: in the edge's manifest and as Pushpin routes. */
  backends?: Record<string, string | EdgeBackendOverride>;
  /** Config store entries over fastly.toml's (store -> key -> value), e.g. `edge_settings`. */
  configStores?: Record<string, Record<string, string>>;
  /** Guest environment (FASTLY_POP, ...). */
  env?: Record<string, string>;
}

export interface LocalStackOptions {
  manifestPath?: string;
  /** Defaults: the origin backend's port in fastly.toml, and its Pushpin ports. */
  ports?: Partial<StackPorts>;
  /** Extra environment for the origin (PUBLISH_TOKEN, REDIS_URL, ...). */
  originEnv?: Record<string, string>;
  /** Node options for the origin's process (e.g. `--cpu-prof`, for a benchmark's profile). */
  originNodeArgs?: string[];
  /** Also start the edge, on `ports.edge` (default 7676). */
  edge?: boolean | EdgeOptions;
  /**
   * Run Pushpin. Default: the manifest's `[local_server.pushpin] enable`, as for `fastly compute
   * serve` (which runs it only when that is true). Without it the edge's Fanout handoffs answer 500
   * and the origin's publishes go to a Pushpin that is not there (unless one runs on those ports).
   */
  pushpin?: boolean;
  /**
   * Pushpin's proxy on every interface (0.0.0.0) instead of 127.0.0.1 only; warned about, since the
   * stack runs with development keys. The edge, the origin and the publish port stay on loopback.
   */
  pushpinListenAll?: boolean;
  /** Pushpin's delivery settings (scripts/pushpin/pushpinProfiles.ts); default DEFAULT_PUSHPIN_PROFILE. */
  pushpinProfile?: PushpinProfileName;
  /** Pushpin's `--loglevel` (see PushpinOptions.logLevel); default its own. */
  pushpinLogLevel?: string;
  logDir?: string;
  /** Children's output in this process's stdout: every line (true), none (false, the default), or only warnings and errors ('problems', echoPolicy.ts). */
  echo?: boolean | 'problems';
  log?: (line: string) => void;
  /** Warnings at start (unsupported manifest settings, Pushpin off). Default `log`, else stderr. */
  warn?: (line: string) => void;
}

/** The children of a stack; each can be restarted (the origin and the edge by `npm start -- --watch`, Pushpin by fault tests). */
export type StackChildName = 'pushpin' | 'origin' | 'edge';
export type RestartableChild = StackChildName;

export interface LocalStack {
  ports: StackPorts;
  /** Pushpin's URLs are where it listens, or with `pushpin: false` where the origin publishes to. */
  urls: { origin: string; pushpinProxy: string; pushpinPublish: string; edge?: string };
  logFiles: { origin: string; pushpin?: string; edge?: string };
  /**
   * The children's pids (each the leader of its own process group, under a process keeper:
   * managedProcess.ts). A restart updates them; after a failed one they name the process that ended.
   */
  pids: { origin: number; pushpin?: number; edge?: number };
  /** Whether Pushpin runs (see LocalStackOptions.pushpin). */
  pushpin: boolean;
  /** The Pushpin profile its config is generated with (also when Pushpin is off: what it would be). */
  pushpinProfile: PushpinProfileName;
  /** The config Pushpin runs with (generated into a temporary directory), when it runs. */
  pushpinConfigFile?: string;
  /** Calls `listener` each time a child exits without being asked to (by stop() or restart()). */
  onChildExit(listener: (name: StackChildName, status: number | string) => void): void;
  /**
   * Stops the origin, the edge or Pushpin and starts it again as before, on the same ports (the edge
   * reads bin/main.wasm anew; Pushpin's clients are cut and reconnect); resolves with the new pid.
   * Restarts of one child run one after the other. Rejects when the new process does not start: that
   * child is then down until the next restart. `downMs`: how long it stays down in between (a crash
   * and a supervisor's restart, say); none by default.
   */
  restart(name: RestartableChild, options?: { downMs?: number }): Promise<number>;
  /** Stops every child in parallel (SIGTERM, SIGKILL after 1.5 s); resolves when all are gone. */
  stop(): Promise<void>;
}

/** The port `fastly compute serve` serves the edge on. */
export const DEFAULT_EDGE_PORT = 7676;

/** One child of the stack: how to start it, and the process running now. */
interface ChildSlot {
  name: StackChildName;
  start(): Promise<{ process: ManagedProcess; stop(): Promise<void> }>;
  current?: { process: ManagedProcess; stop(): Promise<void> };
  /** Restarts of this child, one after the other. */
  queue: Promise<unknown>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? console.log;
  const warn = options.warn ?? options.log ?? ((line: string) => console.error(line));
  const manifestPath = options.manifestPath ?? join(PROJECT_ROOT, 'fastly.toml');
  const manifest = readManifest(manifestPath);
  const unsupported = unsupportedSettingsWarning(manifest, manifestPath);
  if (unsupported) warn(unsupported);
  const originBackend = manifest.backends.find((b) => b.name === ORIGIN_BACKEND);
  if (!originBackend) throw new Error(`fastly.toml has no [local_server.backends.${ORIGIN_BACKEND}]`);
  const withPushpin = options.pushpin ?? manifest.pushpin.enable;
  const pushpinProfile = options.pushpinProfile ?? DEFAULT_PUSHPIN_PROFILE;
  const ports: StackPorts = {
    origin: options.ports?.origin ?? Number(originBackend.url.port || 80),
    pushpinProxy: options.ports?.pushpinProxy ?? manifest.pushpin.proxyPort,
    pushpinPublish: options.ports?.pushpinPublish ?? manifest.pushpin.publishPort,
    ...(options.edge ? { edge: options.ports?.edge ?? DEFAULT_EDGE_PORT } : {}),
  };
  if (!withPushpin) {
    warn(
      `Pushpin: off ([local_server.pushpin] enable is not true in ${manifestPath}; \`fastly compute serve\` runs none either): ` +
        `the edge answers realtime requests with 500, and the origin's publishes to 127.0.0.1:${ports.pushpinPublish} reach no Pushpin of this stack.`,
    );
  }
  if (withPushpin && options.pushpinListenAll) {
    warn(
      `Pushpin's proxy listens on every interface (0.0.0.0:${ports.pushpinProxy}), not only on 127.0.0.1: ` +
        'this stack runs with development keys, and anyone who reaches that port reaches the origin through it ' +
        '(requests signed with the development Grip-Sig key; the origin, on loopback, accepts the development publish token). ' +
        'Use it only on a network you trust.',
    );
  }
  await assertPortsFree({
    ...(ports.edge !== undefined ? { edge: ports.edge } : {}),
    origin: ports.origin,
    ...(withPushpin
      ? {
          'Pushpin proxy': ports.pushpinProxy,
          'Pushpin publish': ports.pushpinPublish,
          'Pushpin ZeroMQ push': ports.pushpinPublish + 1,
          'Pushpin ZeroMQ sub': ports.pushpinPublish + 2,
          'Pushpin ZeroMQ command': ports.pushpinPublish + 3,
        }
      : {}),
  });
  const logDir = options.logDir ?? join(PROJECT_ROOT, 'pushpin-logs');
  mkdirSync(logDir, { recursive: true });
  const edgeOptions: EdgeOptions | undefined = options.edge ? (options.edge === true ? {} : options.edge) : undefined;
  const extraBackends: Record<string, EdgeBackendOverride> = Object.fromEntries(
    Object.entries(edgeOptions?.backends ?? {}).map(([name, b]) => [name, typeof b === 'string' ? { url: b } : b]),
  );
  const backends: ManifestBackend[] = [
    ...manifest.backends
      .filter((backend) => !(backend.name in extraBackends))
      .map((backend) =>
        backend.name === ORIGIN_BACKEND
          ? { ...backend, url: new URL(`http://127.0.0.1:${ports.origin}`), overrideHost: `127.0.0.1:${ports.origin}` }
          : backend,
      ),
    // Extra backends are Pushpin routes too, so the edge can hand off to them.
    ...Object.entries(extraBackends).map(([name, b]) => ({
      name,
      url: new URL(b.url),
      ...(b.overrideHost ? { overrideHost: b.overrideHost } : {}),
    })),
  ];
  const echoOf = (child: StackChild) => (options.echo !== undefined ? { echo: echoFor(options.echo === 'problems' ? 'problems' : options.echo ? 'all' : 'none', child) } : {});
  const originUrl = `http://127.0.0.1:${ports.origin}`;
  const originLog = join(logDir, 'origin.log');
  const edgeLog = join(logDir, 'edge.log');
  let pushpinUrls = { proxyUrl: `http://127.0.0.1:${ports.pushpinProxy}`, publishUrl: `http://127.0.0.1:${ports.pushpinPublish}` };
  let pushpinLog: string | undefined;
  let pushpinConfigFile: string | undefined;

  const slots: ChildSlot[] = [];
  const pids: LocalStack['pids'] = { origin: 0 };
  const listeners: Array<(name: StackChildName, status: number | string) => void> = [];
  /** Processes being stopped on purpose: their exit is not reported. */
  const stopping = new Set<ManagedProcess>();
  let stopped = false;
  /** Ends a restart's down time at once when stop() comes (stop() waits for restarts in progress). */
  let endDownTime: () => void = () => {};
  const stopCalled = new Promise<void>((resolve) => (endDownTime = resolve));

  const launch = async (slot: ChildSlot): Promise<number> => {
    const child = await slot.start();
    slot.current = child;
    pids[slot.name] = child.process.pid;
    void child.process.exited.then((status) => {
      if (slot.current === child) slot.current = undefined;
      if (stopping.delete(child.process) || stopped) return;
      for (const listener of listeners) listener(slot.name, status);
    });
    if (stopped) await stopChild(slot); // stop() came while it was starting
    return child.process.pid;
  };
  const stopChild = async (slot: ChildSlot): Promise<void> => {
    const child = slot.current;
    if (!child) return;
    stopping.add(child.process);
    await child.stop();
  };
  // In parallel: each child gets the same short grace period, so the whole stack is down within it
  // (plus a moment), never one grace period per child.
  const stopAll = async (): Promise<void> => {
    stopped = true;
    endDownTime();
    await Promise.all(slots.map((slot) => stopChild(slot)));
    await Promise.all(slots.map((slot) => slot.queue.catch(() => undefined)));
  };

  const pushpinSlot: ChildSlot = {
    name: 'pushpin',
    queue: Promise.resolve(),
    start: async () => {
      const pushpin: RunningPushpin = await startPushpin({
        backends,
        proxyPort: ports.pushpinProxy,
        publishPort: ports.pushpinPublish,
        profile: pushpinProfile,
        ...(options.pushpinListenAll ? { proxyListenAll: true } : {}),
        ...(options.pushpinLogLevel !== undefined ? { logLevel: options.pushpinLogLevel } : {}),
        logDir,
        log,
        ...(manifest.pushpin.pushpinPath ? { pushpinPath: manifest.pushpin.pushpinPath } : {}),
        ...echoOf('pushpin'),
      });
      pushpinUrls = { proxyUrl: pushpin.proxyUrl, publishUrl: pushpin.publishUrl };
      pushpinLog = pushpin.logFile;
      pushpinConfigFile = pushpin.configFile;
      return { process: pushpin.process, stop: () => pushpin.stop() };
    },
  };
  const originSlot: ChildSlot = {
    name: 'origin',
    queue: Promise.resolve(),
    start: async () => {
      const origin = await startLocalOrigin({
        port: ports.origin,
        publishPort: ports.pushpinPublish,
        ...(options.originEnv ? { env: options.originEnv } : {}),
        ...(options.originNodeArgs ? { nodeArgs: options.originNodeArgs } : {}),
        logFile: originLog,
        ...echoOf('origin'),
      });
      return { process: origin, stop: () => origin.stop() };
    },
  };
  let edgeSlot: ChildSlot | undefined;
  if (edgeOptions && ports.edge !== undefined) {
    const edgeManifest = writeEdgeManifest(manifestPath, join(logDir, 'fastly.edge.toml'), {
      backends: { [ORIGIN_BACKEND]: { url: originUrl, overrideHost: `127.0.0.1:${ports.origin}` }, ...extraBackends },
      ...(edgeOptions.configStores ? { configStores: edgeOptions.configStores } : {}),
      // Warned about above, naming the user's manifest; the host would name this copy.
      omit: manifest.unsupported,
    });
    const edgeArgs = [
      '-v', '-C', edgeManifest,
      '--addr', `127.0.0.1:${ports.edge}`,
      edgeOptions.wasmPath ?? EDGE_WASM,
      ...(withPushpin ? [`--local-pushpin-proxy-port=${ports.pushpinProxy}`] : []),
    ];
    edgeSlot = {
      name: 'edge',
      queue: Promise.resolve(),
      start: async () => {
        const edge = await startManagedProcess({
          name: 'edge',
          command: join(PROJECT_ROOT, 'scripts/compute-host/viceroy'),
          args: edgeArgs,
          cwd: PROJECT_ROOT,
          env: { ...process.env, ...edgeOptions.env },
          ready: /Listening on http/,
          readyTimeoutMs: 30000,
          logFile: edgeLog,
          ...echoOf('edge'),
        });
        return { process: edge, stop: () => edge.stop() };
      },
    };
  }

  try {
    for (const slot of [...(withPushpin ? [pushpinSlot] : []), originSlot, ...(edgeSlot ? [edgeSlot] : [])]) {
      slots.push(slot);
      await launch(slot);
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  const restart = (name: RestartableChild, restartOptions: { downMs?: number } = {}): Promise<number> => {
    const slot = name === 'origin' ? originSlot : name === 'edge' ? edgeSlot : withPushpin ? pushpinSlot : undefined;
    if (!slot) return Promise.reject(new Error(`this stack runs no ${name}`));
    const next = slot.queue.catch(() => undefined).then(async () => {
      if (stopped) throw new Error(`${name} not restarted: the stack is stopping`);
      await stopChild(slot);
      if (restartOptions.downMs) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (timer = setTimeout(r, restartOptions.downMs))), stopCalled]);
        clearTimeout(timer);
      }
      if (stopped) throw new Error(`${name} not restarted: the stack is stopping`);
      return launch(slot);
    });
    slot.queue = next;
    return next;
  };

  return {
    ports,
    urls: {
      origin: originUrl,
      pushpinProxy: pushpinUrls.proxyUrl,
      pushpinPublish: pushpinUrls.publishUrl,
      ...(edgeSlot ? { edge: `http://127.0.0.1:${ports.edge}` } : {}),
    },
    logFiles: { origin: originLog, ...(pushpinLog ? { pushpin: pushpinLog } : {}), ...(edgeSlot ? { edge: edgeLog } : {}) },
    pids,
    pushpin: withPushpin,
    pushpinProfile,
    ...(pushpinConfigFile ? { pushpinConfigFile } : {}),
    onChildExit: (listener) => void listeners.push(listener),
    restart,
    stop: stopAll,
  };
}
