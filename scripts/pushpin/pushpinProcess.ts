// Runs Pushpin as a foreground child with a generated config in a private temporary rundir, waits for
// its "started" line and stops it (and the services its runner spawned) cleanly.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ManifestBackend } from '../shared/fastlyManifest.ts';
import { startManagedProcess, type ManagedProcess } from '../shared/managedProcess.ts';
import { descendantsOf, listeningPortsOf } from '../shared/processTree.mjs';
import { ensurePushpin } from './ensurePushpin.ts';
import { buildPushpinConfig, buildRoutes, EVERY_INTERFACE, LOOPBACK } from './pushpinConfig.ts';
import { DEFAULT_PUSHPIN_PROFILE, type PushpinProfileName } from './pushpinProfiles.ts';
import { packageLibdirOf, writeOwnLibdir } from './zurlLibdir.ts';

/** A route that exists only while Pushpin starts, to prove the whole proxy path works. */
const READINESS_ROUTE = '__readiness_probe';

export interface PushpinOptions {
  backends: ManifestBackend[];
  proxyPort: number;
  /** The proxy on every interface instead of 127.0.0.1 only (see PushpinConfigInput.proxyAddress). */
  proxyListenAll?: boolean;
  publishPort: number;
  /** The delivery settings (pushpinProfiles.ts); default DEFAULT_PUSHPIN_PROFILE. */
  profile?: PushpinProfileName;
  /** Where Pushpin's merged log goes; the directory is created. */
  logDir: string;
  pushpinPath?: string;
  /**
   * Pushpin's `--loglevel`, e.g. `pushpin-handler:3` (the handler at debug: its "httpsession: next:"
   * lines show every next-link fetch); default its own (2, info). Debug output is large: for diagnostic runs.
   */
  logLevel?: string;
  echo?: boolean | ((line: string) => boolean);
  log?: (line: string) => void;
}

export interface RunningPushpin {
  process: ManagedProcess;
  proxyUrl: string;
  publishUrl: string;
  logFile: string;
  configFile: string;
  /** The Pushpin profile its config was generated with. */
  profile: PushpinProfileName;
  stop(): Promise<void>;
}

export async function startPushpin(options: PushpinOptions): Promise<RunningPushpin> {
  const binary = ensurePushpin(options.pushpinPath, options.log);
  const workDir = mkdtempSync(join(tmpdir(), 'pushpin-'));
  const rundir = join(workDir, 'run');
  const logDir = resolve(options.logDir);
  mkdirSync(rundir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const packageLibdir = packageLibdirOf(binary.path);
  const ownLibdir = join(workDir, 'lib');
  const profile = options.profile ?? DEFAULT_PUSHPIN_PROFILE;
  const files = buildPushpinConfig({
    profile,
    version: binary.version,
    rundir,
    logdir: logDir,
    proxyPort: options.proxyPort,
    proxyAddress: options.proxyListenAll ? EVERY_INTERFACE : LOOPBACK,
    publishPort: options.publishPort,
    backends: options.backends,
    ...(packageLibdir ? { libdirs: { own: ownLibdir, package: packageLibdir } } : {}),
  });
  if (files.zurlTemplate !== undefined) writeOwnLibdir(ownLibdir, files.zurlTemplate);
  const configFile = join(workDir, 'pushpin.conf');
  writeFileSync(configFile, files.config);
  const routesFile = join(workDir, 'routes');
  // Until the proxy path is proven (below), the routes also hold one to a throwaway local backend.
  const probe = await startProbeBackend();
  writeFileSync(
    routesFile,
    files.routes + buildRoutes([{ name: READINESS_ROUTE, url: new URL(`http://127.0.0.1:${probe.port}`) }]),
  );
  const logFile = join(logDir, 'pushpin.log');

  const child = await startManagedProcess({
    name: 'pushpin',
    command: binary.path,
    args: [`--config=${configFile}`, '--merge-output', ...(options.logLevel !== undefined ? [`--loglevel=${options.logLevel}`] : [])],
    cwd: workDir,
    ready: /\bstarted\s*$/m,
    logFile,
    ...(options.echo !== undefined ? { echo: options.echo } : {}),
  }).catch((error: unknown) => {
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  });

  // Pushpin prints "started" before condure and the handler listen (measured here: up to ~200 ms later
  // on a loaded machine). For the proxy even listening is not enough: the first requests after start
  // can fail with 502 while its ZeroMQ links to zurl are still being made, and the first GRIP holds
  // with 500 while its link to the handler's accept socket is (a fresh-clone run under load: three
  // stream holds 500 within 40 ms of readiness, WebSockets fine). So wait until the publish port
  // accepts connections and a request through the proxy reaches the probe backend and is held by the
  // handler, then drop the probe route (Pushpin reloads the routes file itself).
  try {
    await waitUntilListening([options.publishPort], 10_000);
    await waitUntilProxying(options.proxyPort, 15_000);
    assertPortsAreItsOwn(child, options.proxyPort, options.publishPort);
    writeFileSync(routesFile, files.routes);
  } catch (error) {
    await child.stop();
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  } finally {
    await probe.close();
  }

  return {
    process: child,
    proxyUrl: `http://127.0.0.1:${options.proxyPort}`,
    publishUrl: `http://127.0.0.1:${options.publishPort}`,
    logFile,
    configFile,
    profile,
    async stop() {
      await child.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * Every port of Pushpin is listened on by Pushpin itself, not by another process that held it first:
 * 1.36's handler logs and carries on when it cannot bind its publish port, so the waits above would
 * see the other process's listener and its publishes would go there (or nowhere, once it is gone).
 * Linux only (listeningPortsOf); elsewhere the waits above are all there is.
 */
function assertPortsAreItsOwn(child: ManagedProcess, proxyPort: number, publishPort: number): void {
  const own = listeningPortsOf([child.pid, ...descendantsOf(child.pid)]);
  if (own === undefined) return;
  const purposes: Array<[number, string]> = [
    [proxyPort, 'proxy'],
    [publishPort, 'publish'],
    ...[1, 2, 3].map((i): [number, string] => [publishPort + i, 'ZeroMQ']),
  ];
  const others = purposes.filter(([port]) => !own.has(port)).map(([port, purpose]) => `${port} (${purpose})`);
  if (others.length > 0) {
    throw new Error(
      `Pushpin started, but another process listens on its port${others.length > 1 ? 's' : ''} ${others.join(', ')} ` +
        '(Pushpin does not report a port it could not bind). Stop that process or choose other ports.',
    );
  }
}

/** Answers with a GRIP stream hold: the proxy must hand it to the handler, which must take it. */
async function startProbeBackend(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Grip-Hold': 'stream', 'Grip-Channel': READINESS_ROUTE }).end('held\n'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function waitUntilProxying(proxyPort: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    const request = new AbortController();
    const timer = setTimeout(() => request.abort(), 2000);
    try {
      const response = await fetch(`http://127.0.0.1:${proxyPort}/`, { headers: { 'pushpin-route': READINESS_ROUTE }, signal: request.signal });
      // Held: the handler sent the headers and the first part; the stream stays open until we leave.
      const first = response.status === 200 ? await response.body?.getReader().read() : undefined;
      if (first?.value !== undefined && Buffer.from(first.value).toString().startsWith('held')) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    } finally {
      clearTimeout(timer);
      request.abort();
    }
    if (Date.now() > deadline) throw new Error(`Pushpin started but does not proxy requests after ${timeoutMs} ms (${last})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntilListening(ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await accepts(port))) {
      if (Date.now() > deadline) throw new Error(`Pushpin started but port ${port} does not accept connections after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
