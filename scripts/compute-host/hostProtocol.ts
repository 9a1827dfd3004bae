// Messages between a guest worker (runs the wasm, blocks on hostcalls) and the main thread (owns
// bodies, pending requests and every socket). Request and response heads live in the worker, so only
// hostcalls that touch I/O cross the thread boundary.
import type { ManifestBackend } from '../shared/fastlyManifest.ts';
import type { MemoryImage } from './guestMemory.ts';

/** Header lists keep order and repeats; names are lower-case. */
export type HeaderList = Array<[string, string]>;

export interface CacheOverrideSetting {
  pass: boolean;
  ttl?: number;
  swr?: number;
  surrogateKey?: string;
}

export interface RequestHead {
  method: string;
  /** Absolute (`http://host/path?q`) for the downstream request; whatever the guest set otherwise. */
  uri: string;
  headers: HeaderList;
  cacheOverride?: CacheOverrideSetting;
  /** Set by auto_decompress_response_set(gzip). */
  autoDecompress?: boolean;
}

export interface ResponseHead {
  status: number;
  headers: HeaderList;
  /** The backend address the response came from, when it came from one. */
  remoteAddress?: string;
  remotePort?: number;
}

/** What a worker needs to run guests: serialisable, sent once at start. */
export interface GuestConfig {
  wasmModule: WebAssembly.Module;
  backends: Array<{ name: string; url: string; overrideHost?: string }>;
  configStores: Record<string, Record<string, string>>;
  dictionaries: Record<string, Record<string, string>>;
  /** The module's memory right after instantiation (bytes in a SharedArrayBuffer): what a reset restores. */
  pristineMemory: MemoryImage;
  /** WASI environment for every instance (FASTLY_POP, FASTLY_SERVICE_VERSION, ...). */
  env: Record<string, string>;
  /** Shared with the main thread: SHARED_SLOTS Int32 slots (the reply counter, the departed request, where the reply is). */
  shared: Int32Array;
  /** Shared with the main thread: where hostcall replies are written (workerReplies.ts). */
  replyBuffer: Uint8Array;
  /** Print hostcall traces (`-v -v`). */
  traceHostcalls: boolean;
}

/**
 * Slots of `GuestConfig.shared`: 0 counts replies and 2 says where the last one is (workerReplies.ts);
 * 1 holds the id of a request whose client went away.
 */
export const SHARED_SLOTS = 3;
export const DEPARTED_REQUEST_SLOT = 1;

/** Per-request facts the worker hands to the guest. */
export interface DownstreamInfo {
  requestId: number;
  head: RequestHead;
  bodyHandle: number;
  clientAddress: string;
  serverAddress: string;
  traceId: string;
}

export type WorkerCall =
  | { op: 'bodyNew'; handle: number }
  | { op: 'bodyWrite'; handle: number; data: Uint8Array; front: boolean }
  | { op: 'bodyAppend'; dest: number; src: number }
  | { op: 'bodyClose'; handle: number }
  | { op: 'bodyAbandon'; handle: number }
  | { op: 'bodyRead'; handle: number; max: number }
  | { op: 'bodyKnownLength'; handle: number }
  | { op: 'bodyDrain'; handle: number }
  | { op: 'send'; pending: number; head: RequestHead; body: number; backend: string; streaming: boolean; cache: boolean }
  | { op: 'pendingWait'; pending: number; bodyHandle: number }
  | { op: 'select'; handles: number[]; timeoutMs: number }
  | { op: 'isReady'; handle: number }
  | { op: 'sendDownstream'; head: ResponseHead; body: number; streaming: boolean }
  | { op: 'handoff'; head: RequestHead; backend: string };

/** Calls the worker does not wait for: they cannot fail once the worker validated the handles. */
export const FIRE_AND_FORGET: ReadonlySet<WorkerCall['op']> = new Set([
  'bodyNew',
  'bodyWrite',
  'bodyAppend',
  'bodyClose',
  'bodyAbandon',
  'send',
]);

export interface HostReply {
  status: number;
  data?: Uint8Array;
  value?: number;
  done?: boolean;
  index?: number;
  head?: ResponseHead;
  errorTag?: number;
}

/**
 * Calls of one guest, applied in order. Calls with no visible effect until a later one (a new body, a
 * write to a body nothing reads yet) wait in the worker and travel with the next call that needs the
 * main thread, so a request costs fewer messages; only the last call of a batch may be one the worker
 * waits for.
 */
export type WorkerEvent =
  | { kind: 'calls'; requestId: number; calls: WorkerCall[] }
  | { kind: 'ready' }
  | { kind: 'finished'; requestId: number; trap?: string; calls?: WorkerCall[] }
  | { kind: 'unsupported'; name: string };

export type MainToWorker = { kind: 'run'; downstream: DownstreamInfo } | { kind: 'stop' };

export function toGuestBackends(backends: ManifestBackend[]): GuestConfig['backends'] {
  return backends.map((b) => ({ name: b.name, url: b.url.href, ...(b.overrideHost ? { overrideHost: b.overrideHost } : {}) }));
}
