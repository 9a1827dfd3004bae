// A worker thread that runs guests: one fresh wasm instance per request, as Viceroy does. Hostcalls
// are synchronous for the guest, so a call that needs the main thread posts a message and blocks on
// Atomics.wait until the reply is posted on the reply port.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ReplyReader } from './workerReplies.ts';
import { createFastlyImports, GuestSession, type HostLink } from './guestImports.ts';
import { GuestMemory, restoreMemory } from './guestMemory.ts';
import { STUBBED_HOSTCALLS, WASI_MODULE } from './hostcallCatalog.ts';
import { createWasiImports, WasiExit, WASI_NOT_SUPPORTED } from './wasiPreview1.ts';
import { Status } from './hostcallAbi.ts';
import { DEPARTED_REQUEST_SLOT, FIRE_AND_FORGET, type GuestConfig, type HostReply, type MainToWorker, type WorkerCall, type WorkerEvent } from './hostProtocol.ts';

interface WorkerInput {
  config: GuestConfig;
  replyPort: MessagePort;
}

const { config, replyPort } = workerData as WorkerInput;
const port = parentPort!;
const post = (event: WorkerEvent): void => port.postMessage(event);
const replies = new ReplyReader({ port: replyPort, signal: config.shared, buffer: config.replyBuffer });

let session: GuestSession | undefined;
const mem = new GuestMemory();

const PROFILE = process.env.COMPUTE_HOST_PROFILE === '1';
let profileCalls = 0;
let profileWaitMs = 0;

/** Calls that wait for the next one that goes to the main thread (see WorkerEvent). */
let deferred: WorkerCall[] = [];
let deferredBytes = 0;
/** Deferred body bytes beyond this go at once: the main thread holds bodies, not the worker. */
const MAX_DEFERRED_BYTES = 1024 * 1024;

/** No effect anyone can see until a later call: a new body, or a write to a body that is not streaming. */
function deferrable(call: WorkerCall): boolean {
  if (call.op === 'bodyNew') return true;
  return call.op === 'bodyWrite' && session !== undefined && !session.streamingUnacked.has(call.handle) && deferredBytes + call.data.length <= MAX_DEFERRED_BYTES;
}

function takeDeferred(): WorkerCall[] {
  const calls = deferred;
  deferred = [];
  deferredBytes = 0;
  return calls;
}

const link: HostLink = {
  call(call: WorkerCall): HostReply {
    profileCalls++;
    const requestId = session?.downstream.requestId ?? -1;
    if (config.traceHostcalls) process.stderr.write(`[guest ${requestId}] -> ${call.op}\n`);
    if (FIRE_AND_FORGET.has(call.op)) {
      if (deferrable(call)) {
        deferred.push(call);
        if (call.op === 'bodyWrite') deferredBytes += call.data.length;
      } else post({ kind: 'calls', requestId, calls: [...takeDeferred(), call] });
      return { status: Status.OK };
    }
    const waitStart = PROFILE ? performance.now() : 0;
    post({ kind: 'calls', requestId, calls: [...takeDeferred(), call] });
    const reply = replies.await();
    if (PROFILE) profileWaitMs += performance.now() - waitStart;
    return reply;
  },
};

const reportedUnsupported = new Set<string>();
const fastly = createFastlyImports({
  mem,
  config,
  link,
  clientGone: () => session !== undefined && Atomics.load(config.shared, DEPARTED_REQUEST_SLOT) === session.downstream.requestId,
  session: () => {
    if (!session) throw new Error('hostcall outside a request');
    return session;
  },
});

const wasi = createWasiImports(mem, ['main.wasm'], () => ({
  ...config.env,
  ...(session ? { FASTLY_TRACE_ID: session.downstream.traceId } : {}),
}));

/** One import object for every instance of this worker: the functions read the current session. */
function buildImports(): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const { module, name } of WebAssembly.Module.imports(config.wasmModule)) {
    const table = (imports[module] ??= {});
    if (module === WASI_MODULE) {
      table[name] = (wasi as Record<string, WebAssembly.ImportValue>)[name] ?? (() => WASI_NOT_SUPPORTED);
      continue;
    }
    const implemented = fastly[module]?.[name];
    if (implemented) {
      table[name] = config.traceHostcalls
        ? (...args: number[]) => {
            const status = implemented(...args);
            process.stderr.write(`[guest] ${module}.${name}(${args.join(', ')}) = ${status}\n`);
            return status;
          }
        : implemented;
      continue;
    }
    const known = STUBBED_HOSTCALLS[module]?.includes(name) ?? false;
    table[name] = () => {
      const key = `${module}.${name}`;
      if (!reportedUnsupported.has(key)) {
        reportedUnsupported.add(key);
        post({ kind: 'unsupported', name: known ? key : `${key} (unknown to this host)` });
      }
      return Status.UNSUPPORTED;
    };
  }
  return imports;
}

const imports = buildImports();

/**
 * Every request starts from a pristine instance. A new WebAssembly.Instance costs ~8 ms of CPU (its
 * 7 MiB memory, data and table set up), so by default an instance that returned normally is reset
 * instead: its memory is restored byte for byte to the image it had when instantiated. That is all of
 * its state: the module has a single global, the shadow-stack pointer, which a normal return restores,
 * and the table is never written. After a trap, a proc_exit or memory growth the instance is dropped and
 * a new one made. COMPUTE_HOST_FRESH_INSTANCES=1 makes a new one every time.
 */
const ALWAYS_NEW_INSTANCE = process.env.COMPUTE_HOST_FRESH_INSTANCES === '1';

function memoryOf(instance: WebAssembly.Instance): WebAssembly.Memory {
  return instance.exports.memory as WebAssembly.Memory;
}

function prepareInstance(): WebAssembly.Instance {
  return new WebAssembly.Instance(config.wasmModule, imports);
}

// Instantiating takes a few milliseconds: do it while idle, before the request arrives.
let next: WebAssembly.Instance = prepareInstance();
/** Shared by every worker of the host (guestMemory.ts initialMemoryImage); never written. */
const pristineMemory = config.pristineMemory;

/** A clean instance for the next request: the same one reset when it can be, else a new one. */
function nextInstance(used: WebAssembly.Instance, endedCleanly: boolean): WebAssembly.Instance {
  const memory = memoryOf(used);
  if (ALWAYS_NEW_INSTANCE || !endedCleanly || memory.buffer.byteLength !== pristineMemory.bytes.length) return prepareInstance();
  restoreMemory(new Uint8Array(memory.buffer), pristineMemory);
  return used;
}

function run(message: Extract<MainToWorker, { kind: 'run' }>): void {
  const instance = next;
  const runStart = performance.now();
  profileCalls = 0;
  profileWaitMs = 0;
  session = new GuestSession(message.downstream);
  mem.memory = memoryOf(instance);
  let trap: string | undefined;
  let endedCleanly = true;
  try {
    (instance.exports._start as () => void)();
  } catch (error) {
    endedCleanly = false;
    if (error instanceof WasiExit) {
      if (error.code !== 0) trap = error.message;
    } else trap = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  const requestId = session.downstream.requestId;
  session = undefined;
  mem.memory = undefined;
  const calls = takeDeferred();
  post({ kind: 'finished', requestId, ...(trap ? { trap } : {}), ...(calls.length > 0 ? { calls } : {}) });
  const prepareStart = performance.now();
  next = nextInstance(instance, endedCleanly);
  if (PROFILE) {
    const ran = prepareStart - runStart;
    const prepared = performance.now() - prepareStart;
    process.stderr.write(
      `[profile] request ${requestId}: guest ${ran.toFixed(1)} ms (${profileCalls} host calls, ${profileWaitMs.toFixed(1)} ms waiting on the main thread), next instance ${prepared.toFixed(1)} ms\n`,
    );
  }
  post({ kind: 'ready' });
}

port.on('message', (message: MainToWorker) => {
  if (message.kind === 'run') run(message);
  else if (message.kind === 'stop') process.exit(0);
});
post({ kind: 'ready' });
