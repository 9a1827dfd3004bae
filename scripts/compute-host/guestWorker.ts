// A worker thread that runs guests: one fresh wasm instance per request, as Viceroy does. Hostcalls
// are synchronous for the guest, so a call that needs the main thread posts a message and blocks on
// Atomics.wait until the reply is posted on the reply port.
import { randomBytes } from 'node:crypto';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { WASI } from 'node:wasi';
import { createFastlyImports, GuestSession, type HostLink } from './guestImports.ts';
import { GuestMemory } from './guestMemory.ts';
import { STUBBED_HOSTCALLS, WASI_MODULE } from './hostcallCatalog.ts';
import { Status } from './hostcallAbi.ts';
import { FIRE_AND_FORGET, type GuestConfig, type HostReply, type MainToWorker, type WorkerCall, type WorkerEvent } from './hostProtocol.ts';

interface WorkerInput {
  config: GuestConfig;
  replyPort: MessagePort;
}

const { config, replyPort } = workerData as WorkerInput;
const port = parentPort!;
const post = (event: WorkerEvent): void => port.postMessage(event);

let session: GuestSession | undefined;
const mem = new GuestMemory();

const link: HostLink = {
  call(call: WorkerCall): HostReply {
    const requestId = session?.downstream.requestId ?? -1;
    if (config.traceHostcalls) process.stderr.write(`[guest ${requestId}] -> ${call.op}\n`);
    if (FIRE_AND_FORGET.has(call.op)) {
      post({ kind: 'call', requestId, call });
      return { status: Status.OK };
    }
    Atomics.store(config.signal, 0, 0);
    post({ kind: 'call', requestId, call });
    Atomics.wait(config.signal, 0, 0);
    const reply = receiveMessageOnPort(replyPort);
    if (!reply) throw new Error(`compute-host: no reply to ${call.op}`);
    return reply.message as HostReply;
  },
};

const reportedUnsupported = new Set<string>();
const fastly = createFastlyImports({
  mem,
  config,
  link,
  session: () => {
    if (!session) throw new Error('hostcall outside a request');
    return session;
  },
  trace: () => {},
});

function buildImports(wasi: WASI): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const { module, name } of WebAssembly.Module.imports(config.wasmModule)) {
    const table = (imports[module] ??= {});
    if (module === WASI_MODULE) {
      const fn = (wasi.wasiImport as Record<string, WebAssembly.ImportValue>)[name];
      if (fn) table[name] = fn;
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

interface PreparedInstance {
  wasi: WASI;
  instance: WebAssembly.Instance;
}

function prepareInstance(): PreparedInstance {
  const wasi = new WASI({
    version: 'preview1',
    args: ['main.wasm'],
    env: { ...config.env, FASTLY_TRACE_ID: randomBytes(16).toString('hex') },
    returnOnExit: true,
  });
  const instance = new WebAssembly.Instance(config.wasmModule, buildImports(wasi));
  return { wasi, instance };
}

// Instantiating takes a few milliseconds: do it while idle, before the request arrives.
let next: PreparedInstance = prepareInstance();

function run(message: Extract<MainToWorker, { kind: 'run' }>): void {
  const { wasi, instance } = next;
  session = new GuestSession(message.downstream);
  mem.memory = instance.exports.memory as WebAssembly.Memory;
  let trap: string | undefined;
  try {
    const code = wasi.start(instance);
    if (code !== 0) trap = `guest exited with code ${code}`;
  } catch (error) {
    trap = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  const requestId = session.downstream.requestId;
  session = undefined;
  mem.memory = undefined;
  post({ kind: 'finished', requestId, ...(trap ? { trap } : {}) });
  next = prepareInstance();
}

port.on('message', (message: MainToWorker) => {
  if (message.kind === 'run') run(message);
  else if (message.kind === 'stop') process.exit(0);
});
post({ kind: 'ready' });
