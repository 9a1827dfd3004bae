// The whole local stack as `fastly compute serve` would have it: Pushpin configured from fastly.toml,
// the origin behind it, and (once built) the edge on 7676. `npm start` and the end-to-end tests both
// use this; tests pass their own free ports so they never collide with a running stack.
import { join } from 'node:path';
import { readManifest, type ManifestBackend } from './fastlyManifest.ts';
import { startManagedProcess, type ManagedProcess } from './managedProcess.ts';
import { assertPortsFree } from './ports.ts';
import { PROJECT_ROOT } from './projectRoot.ts';
import { startPushpin, type RunningPushpin } from '../pushpin/pushpinProcess.ts';
import { LOCAL_GRIP_SIG_ISS, LOCAL_GRIP_SIG_KEY } from '../pushpin/pushpinConfig.ts';
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
  /** Also start the edge, on `ports.edge` (default 7676). */
  edge?: boolean | EdgeOptions;
  logDir?: string;
  echo?: boolean;
  log?: (line: string) => void;
}

export interface LocalStack {
  ports: StackPorts;
  urls: { origin: string; pushpinProxy: string; pushpinPublish: string; edge?: string };
  logFiles: { origin: string; pushpin: string; edge?: string };
  /** The children (each the leader of its own process group, under a process keeper: managedProcess.ts). */
  pids: { origin: number; pushpin: number; edge?: number };
  /** Resolves when any child exits on its own, with its name. */
  childExited: Promise<string>;
  /** Stops every child in parallel (SIGTERM, SIGKILL after 1.5 s); resolves when all are gone. */
  stop(): Promise<void>;
}

/** The port `fastly compute serve` serves the edge on. */
export const DEFAULT_EDGE_PORT = 7676;

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? console.log;
  const manifestPath = options.manifestPath ?? join(PROJECT_ROOT, 'fastly.toml');
  const manifest = readManifest(manifestPath);
  const originBackend = manifest.backends.find((b) => b.name === ORIGIN_BACKEND);
  if (!originBackend) throw new Error(`fastly.toml has no [local_server.backends.${ORIGIN_BACKEND}]`);
  const ports: StackPorts = {
    origin: options.ports?.origin ?? Number(originBackend.url.port || 80),
    pushpinProxy: options.ports?.pushpinProxy ?? manifest.pushpin.proxyPort,
    pushpinPublish: options.ports?.pushpinPublish ?? manifest.pushpin.publishPort,
    ...(options.edge ? { edge: options.ports?.edge ?? DEFAULT_EDGE_PORT } : {}),
  };
  await assertPortsFree({
    ...(ports.edge !== undefined ? { edge: ports.edge } : {}),
    origin: ports.origin,
    'Pushpin proxy': ports.pushpinProxy,
    'Pushpin publish': ports.pushpinPublish,
    'Pushpin ZeroMQ push': ports.pushpinPublish + 1,
    'Pushpin ZeroMQ sub': ports.pushpinPublish + 2,
    'Pushpin ZeroMQ command': ports.pushpinPublish + 3,
  });
  const logDir = options.logDir ?? join(PROJECT_ROOT, 'pushpin-logs');
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

  const started: Array<{ stop(): Promise<void> }> = [];
  // In parallel: each child gets the same short grace period, so the whole stack is down within it
  // (plus a moment), never one grace period per child.
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.splice(0).map((child) => child.stop()));
  };
  try {
    const pushpin: RunningPushpin = await startPushpin({
      backends,
      proxyPort: ports.pushpinProxy,
      publishPort: ports.pushpinPublish,
      logDir,
      log,
      ...(manifest.pushpin.pushpinPath ? { pushpinPath: manifest.pushpin.pushpinPath } : {}),
      ...(options.echo !== undefined ? { echo: options.echo } : {}),
    });
    started.push(pushpin);

    const originUrl = `http://127.0.0.1:${ports.origin}`;
    const originLog = join(logDir, 'origin.log');
    const origin: ManagedProcess = await startManagedProcess({
      name: 'origin',
      command: process.execPath,
      args: ['--import', 'tsx', join(PROJECT_ROOT, 'origin/server.ts')],
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        PORT: String(ports.origin),
        HOST: '127.0.0.1',
        GRIP_URL: `http://127.0.0.1:${ports.pushpinPublish}/?verify-iss=${LOCAL_GRIP_SIG_ISS}`,
        GRIP_VERIFY_KEY: LOCAL_GRIP_SIG_KEY,
        ...options.originEnv,
      },
      ready: async () => (await fetch(`${originUrl}/healthz`)).ok,
      readyTimeoutMs: 30000,
      logFile: originLog,
      ...(options.echo !== undefined ? { echo: options.echo } : {}),
    });
    started.push(origin);

    let edge: ManagedProcess | undefined;
    let edgeLog: string | undefined;
    if (edgeOptions && ports.edge !== undefined) {
      edgeLog = join(logDir, 'edge.log');
      const edgeManifest = writeEdgeManifest(manifestPath, join(logDir, 'fastly.edge.toml'), {
        backends: { [ORIGIN_BACKEND]: { url: originUrl, overrideHost: `127.0.0.1:${ports.origin}` }, ...extraBackends },
        ...(edgeOptions.configStores ? { configStores: edgeOptions.configStores } : {}),
      });
      const edgeArgs = ['-v', '-C', edgeManifest, '--addr', `127.0.0.1:${ports.edge}`, edgeOptions.wasmPath ?? EDGE_WASM];
      edge = await startManagedProcess({
        name: 'edge',
        command: join(PROJECT_ROOT, 'scripts/compute-host/viceroy'),
        args: [...edgeArgs, `--local-pushpin-proxy-port=${ports.pushpinProxy}`],
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...edgeOptions.env },
        ready: /Listening on http/,
        readyTimeoutMs: 30000,
        logFile: edgeLog,
        ...(options.echo !== undefined ? { echo: options.echo } : {}),
      });
      started.push(edge);
    }

    const childExited = Promise.race([
      pushpin.process.exited.then(() => 'pushpin'),
      origin.exited.then(() => 'origin'),
      ...(edge ? [edge.exited.then(() => 'edge')] : []),
    ]);
    return {
      ports,
      urls: {
        origin: originUrl,
        pushpinProxy: pushpin.proxyUrl,
        pushpinPublish: pushpin.publishUrl,
        ...(edge ? { edge: `http://127.0.0.1:${ports.edge}` } : {}),
      },
      logFiles: { origin: originLog, pushpin: pushpin.logFile, ...(edgeLog ? { edge: edgeLog } : {}) },
      pids: { origin: origin.pid, pushpin: pushpin.process.pid, ...(edge ? { edge: edge.pid } : {}) },
      childExited,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
