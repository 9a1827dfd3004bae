// The local Compute host: serves HTTP on an address, runs bin/main.wasm for each request in a worker,
// and does the guest's I/O (backends from fastly.toml, the readthrough cache, the Fanout handoff).
import http from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { AddressInfo } from 'node:net';
import { readManifest, unsupportedSettingsWarning, type LocalManifest } from '../shared/fastlyManifest.ts';
import { HostBody } from './hostBody.ts';
import { initialMemoryImage } from './guestMemory.ts';
import { rawHeaderList, type HostBackend } from './backendClient.ts';
import { responseSink, upgradeSink, type DownstreamSink } from './downstreamSink.ts';
import { toGuestBackends, type DownstreamInfo, type RequestHead } from './hostProtocol.ts';
import { RequestContext, type HostServices } from './requestContext.ts';
import { ReadthroughCache, DEFAULT_CACHE_LIMITS, type CacheLimits } from './readthroughCache.ts';
import { clientErrorStatus, refuseOversizedUrl } from './requestLimits.ts';
import { WorkerPool } from './workerPool.ts';
import { BackendShare } from './backendShare.ts';
import { redactedUrl } from './redactedUrl.ts';

export class ComputeHostError extends Error {
  override name = 'ComputeHostError';
}

export interface ComputeHostOptions {
  wasmPath: string;
  manifestPath: string;
  host?: string;
  port: number;
  /** Pushpin's proxy port; without it a Fanout handoff answers 500, as in Viceroy. */
  pushpinProxyPort?: number;
  /** Extra WASI environment (FASTLY_POP, ...), over Viceroy's defaults. */
  env?: Record<string, string>;
  minWorkers?: number;
  maxWorkers?: number;
  /** Requests that may wait for a worker at once (default 1024); more are answered 503. */
  queueLimit?: number;
  /** How long a request may wait for a worker (default 15 s, a backend's first-byte timeout); then 503. */
  queueTimeoutMs?: number;
  /** How long a client may take to send a request head (default 30 s); then 408 and the connection closes. */
  headTimeoutMs?: number;
  cacheLimits?: CacheLimits;
  verbose?: number;
  log?: (line: string) => void;
}

/**
 * Guests waiting on a backend each hold a worker thread (~20 MB each), so the pool may grow this far
 * before requests queue; one backend may hold all but an eighth of them (backendShare.ts).
 */
export const DEFAULT_MAX_WORKERS = 64;
export const DEFAULT_QUEUE_LIMIT = 1024;
export const DEFAULT_QUEUE_TIMEOUT_MS = 15_000;
/**
 * A head trickled a header at a time would hold its connection forever: request bodies may stream for
 * as long as they like (requestTimeout 0), and with that Node enforces no head timeout unless it is set.
 */
export const DEFAULT_HEAD_TIMEOUT_MS = 30_000;

export interface RunningComputeHost {
  url: string;
  port: number;
  cache: ReadthroughCache;
  stop(): Promise<void>;
}

/** Viceroy's WASI environment; the same names in the host's own environment override these. */
export function guestEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    FASTLY_CACHE_GENERATION: '0',
    FASTLY_CUSTOMER_ID: '0000000000000000000000',
    FASTLY_POP: 'XXX',
    FASTLY_REGION: 'Somewhere',
    FASTLY_SERVICE_ID: '0000000000000000000000',
    FASTLY_SERVICE_VERSION: '0',
    FASTLY_HOSTNAME: 'localhost',
    FASTLY_IS_STAGING: '0',
  };
  for (const [key, value] of Object.entries(process.env)) {
    if (key in env && value !== undefined) env[key] = value;
  }
  return { ...env, ...overrides };
}

export async function compileGuest(wasmPath: string): Promise<WebAssembly.Module> {
  let bytes: Buffer;
  try {
    if (!statSync(wasmPath).isFile()) throw new Error('not a file');
    bytes = readFileSync(wasmPath);
  } catch (error) {
    throw new ComputeHostError(`cannot read the wasm module ${wasmPath}: ${(error as Error).message}. Build it with \`npm run build\`.`);
  }
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (error) {
    throw new ComputeHostError(`${wasmPath} is not a valid WebAssembly module: ${(error as Error).message}`);
  }
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  for (const wanted of ['_start', 'memory']) {
    if (!exports.has(wanted)) {
      throw new ComputeHostError(
        `${wasmPath} does not export "${wanted}": it is not a Fastly Compute core module (js-compute-runtime builds one).`,
      );
    }
  }
  return module;
}

/** FASTLY_TRACE_ID values: 16 random bytes each, drawn from a larger buffer (one fill per 256 requests). */
function traceIdSource(): () => string {
  const pool = Buffer.alloc(16 * 256);
  let offset = pool.length;
  return () => {
    if (offset === pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    offset += 16;
    return pool.toString('hex', offset - 16, offset);
  };
}

export async function startComputeHost(options: ComputeHostOptions): Promise<RunningComputeHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  const verbose = options.verbose ?? 0;
  let manifest: LocalManifest;
  try {
    manifest = readManifest(options.manifestPath);
  } catch (error) {
    throw new ComputeHostError((error as Error).message);
  }
  const unsupported = unsupportedSettingsWarning(manifest, options.manifestPath);
  if (unsupported) log(`compute-host: ${unsupported}`);
  const wasmModule = await compileGuest(options.wasmPath);
  const backends = new Map<string, HostBackend>(manifest.backends.map((b) => [b.name, b]));
  const cache = new ReadthroughCache(options.cacheLimits ?? DEFAULT_CACHE_LIMITS);
  const cpus = availableParallelism();
  const maxWorkers = options.maxWorkers ?? DEFAULT_MAX_WORKERS;
  const minWorkers = Math.min(options.minWorkers ?? Math.max(4, cpus), maxWorkers);
  const services: HostServices = {
    backends,
    cache,
    backendShare: new BackendShare(maxWorkers),
    pushpinPort: options.pushpinProxyPort,
    log: verbose > 0 ? log : () => {},
    warn: log,
  };
  const pool = new WorkerPool({
    config: {
      wasmModule,
      pristineMemory: initialMemoryImage(wasmModule),
      backends: toGuestBackends(manifest.backends),
      configStores: manifest.configStores,
      dictionaries: manifest.dictionaries,
      env: guestEnvironment(options.env),
      traceHostcalls: verbose > 2,
    },
    minWorkers,
    maxWorkers,
    queueLimit: options.queueLimit ?? DEFAULT_QUEUE_LIMIT,
    queueTimeoutMs: options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS,
    log,
  });
  await pool.start();

  let nextId = 1;
  const nextTraceId = traceIdSource();
  const guestUri = (request: http.IncomingMessage): string =>
    `http://${request.headers.host ?? `${options.host ?? '127.0.0.1'}:${options.port}`}${request.url ?? '/'}`;
  const accept = (request: http.IncomingMessage, sink: DownstreamSink, body: HostBody): void => {
    const id = nextId++;
    const head: RequestHead = {
      method: request.method ?? 'GET',
      uri: guestUri(request),
      headers: rawHeaderList(request.rawHeaders),
    };
    const bodyHandle = 1;
    const context = new RequestContext(id, sink, head, bodyHandle, body, services);
    const downstream: DownstreamInfo = {
      requestId: id,
      head,
      bodyHandle,
      clientAddress: request.socket.remoteAddress ?? '127.0.0.1',
      serverAddress: request.socket.localAddress ?? '127.0.0.1',
      traceId: nextTraceId(),
    };
    if (process.env.COMPUTE_HOST_PROFILE === '1') {
      void sink.closed.then(() => {
        context.mark('closed');
        log(`[profile] ${head.method} ${redactedUrl(request.url ?? '')}: ${context.marks.map(([w, t]) => `${w}@${t.toFixed(1)}`).join(' ')}`);
      });
    }
    if (verbose > 0) {
      void sink.closed.then(() => {
        const ms = (performance.now() - context.startedAt).toFixed(1);
        log(`${head.method} ${redactedUrl(request.url ?? '')} -> ${context.status ?? '-'} (${ms} ms)`);
      });
    }
    void sink.departed.then(() => pool.clientDeparted(context));
    pool.run(context, downstream);
  };

  const headTimeoutMs = options.headTimeoutMs ?? DEFAULT_HEAD_TIMEOUT_MS;
  const serverOptions: http.ServerOptions = {
    keepAliveTimeout: 65_000,
    requestTimeout: 0,
    headersTimeout: headTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, headTimeoutMs),
  };
  const server = http.createServer(serverOptions, (request, response) => {
    const refused = refuseOversizedUrl(guestUri(request));
    if (refused) {
      log(`${request.method} ${request.url?.slice(0, 80)}... -> ${refused.status} (the URL is longer than the guest can read)`);
      response.writeHead(refused.status, refused.reason, { 'content-type': 'application/json', connection: 'close' }).end(refused.body);
      return;
    }
    const length = request.headers['content-length'];
    accept(request, responseSink(request, response), HostBody.fromStream(request, length !== undefined ? Number(length) : undefined, false));
  });
  const upgraded = new Set<import('node:stream').Duplex>();
  server.on('upgrade', (request: http.IncomingMessage, socket, head: Buffer) => {
    const refused = refuseOversizedUrl(guestUri(request));
    if (refused) {
      const length = Buffer.byteLength(refused.body);
      socket.end(`HTTP/1.1 ${refused.status} ${refused.reason}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\nconnection: close\r\n\r\n${refused.body}`);
      return;
    }
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    accept(request, upgradeSink(request, socket, head), HostBody.fromBytes(new Uint8Array()));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (socket.writable) socket.end(`HTTP/1.1 ${clientErrorStatus(error.code)}\r\nconnection: close\r\n\r\n`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new ComputeHostError(`cannot listen on ${options.host ?? '127.0.0.1'}:${options.port}: ${error.message}`)),
    );
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  }).catch(async (error) => {
    await pool.stop();
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return {
    url,
    port,
    cache,
    async stop() {
      server.closeAllConnections();
      for (const socket of upgraded) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.stop();
    },
  };
}
