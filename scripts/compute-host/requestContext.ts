// One downstream request, main-thread side: the bodies and pending backend requests the guest holds
// by handle, the answer to the client, and the hostcalls that need I/O (reads, sends, waits, select,
// send_downstream, the Fanout handoff).
import { HostBody, BodyError } from './hostBody.ts';
import { SendError, sendToBackend, type BackendResponse, type HostBackend } from './backendClient.ts';
import type { BackendShare } from './backendShare.ts';
import { cachedSend } from './cachedSend.ts';
import type { Writable } from 'node:stream';
import type { DownstreamSink } from './downstreamSink.ts';
import { performHandoff } from './fanoutHandoff.ts';
import { SELECT_TIMED_OUT, SendErrorTag, Status } from './hostcallAbi.ts';
import { HostSendFailure, sendErrorTagFor } from './sendErrorDetail.ts';
import type { HeaderList, HostReply, RequestHead, WorkerCall } from './hostProtocol.ts';
import type { ReadthroughCache } from './readthroughCache.ts';

const PROFILE = process.env.COMPUTE_HOST_PROFILE === '1';

/** A streaming body counts as writable (select-ready) below this many queued bytes. */
const STREAMING_LOW_WATER = 256 * 1024;

class PendingSend {
  settled = false;
  result: BackendResponse | undefined;
  error: SendError | undefined;
  private waiters = new Set<() => void>();
  readonly done: Promise<void>;

  constructor(promise: Promise<BackendResponse>) {
    this.done = promise.then(
      (result) => {
        this.result = result;
      },
      (error: unknown) => {
        this.error = error instanceof SendError ? error : new SendError(String(error), Status.ERROR, SendErrorTag.INTERNAL_ERROR);
      },
    ).finally(() => {
      this.settled = true;
      for (const wake of [...this.waiters]) wake();
    });
  }

  changed(): Promise<void> {
    if (this.settled) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }
}

export interface HostServices {
  backends: Map<string, HostBackend>;
  cache: ReadthroughCache;
  /** How many guest workers each backend may hold (backendShare.ts). */
  backendShare: BackendShare;
  pushpinPort: number | undefined;
  /** Request-level detail, printed with -v. */
  log: (line: string) => void;
  /** Overload and failures the host itself causes (503s, refused sends, stopped guests): always printed. */
  warn: (line: string) => void;
}

export class RequestContext {
  readonly bodies = new Map<number, HostBody>();
  private readonly pendings = new Map<number, PendingSend>();
  responded = false;
  finished = false;
  /** The client went away before its response was complete. */
  departed = false;
  status: number | undefined;
  /** Cancels this request's backend requests when its client goes away. */
  private readonly cancel = new AbortController();
  readonly startedAt = performance.now();

  constructor(
    readonly id: number,
    readonly sink: DownstreamSink,
    readonly downstreamHead: RequestHead,
    readonly downstreamBodyHandle: number,
    readonly downstreamBody: HostBody,
    private readonly services: HostServices,
  ) {
    downstreamBody.recordConsumption();
    this.bodies.set(downstreamBodyHandle, downstreamBody);
  }

  private body(handle: number): HostBody | undefined {
    return this.bodies.get(handle);
  }

  /** With COMPUTE_HOST_PROFILE=1: when each step happened, printed when the client is answered. */
  readonly marks: Array<[string, number]> = [];

  mark(what: string): void {
    if (PROFILE) this.marks.push([what, performance.now() - this.startedAt]);
  }

  /** Runs one hostcall. Fire-and-forget calls apply synchronously, so their order is kept. */
  handle(call: WorkerCall): HostReply | Promise<HostReply> {
    this.mark(call.op);
    switch (call.op) {
      case 'bodyNew':
        this.bodies.set(call.handle, new HostBody());
        return { status: Status.OK };
      case 'bodyWrite': {
        const body = this.body(call.handle);
        if (!body) return { status: Status.BADF };
        if (!body.aborted) body.write(call.data, call.front);
        return { status: Status.OK };
      }
      case 'bodyAppend': {
        const dest = this.body(call.dest);
        const src = this.body(call.src);
        if (!dest || !src) return { status: Status.BADF };
        this.bodies.delete(call.src);
        dest.append(src);
        return { status: Status.OK };
      }
      case 'bodyClose': {
        const body = this.body(call.handle);
        if (!body) return { status: Status.BADF };
        this.bodies.delete(call.handle);
        if (body.open) body.close();
        else if (body !== this.downstreamBody) body.abandon();
        return { status: Status.OK };
      }
      case 'bodyAbandon': {
        const body = this.body(call.handle);
        if (!body) return { status: Status.BADF };
        this.bodies.delete(call.handle);
        body.abandon();
        return { status: Status.OK };
      }
      case 'bodyRead':
        return this.read(call.handle, call.max);
      case 'bodyKnownLength': {
        const body = this.body(call.handle);
        if (!body) return { status: Status.BADF };
        const length = body.knownLength();
        return length === undefined ? { status: Status.NONE } : { status: Status.OK, value: length };
      }
      case 'bodyDrain':
        return this.drain(call.handle);
      case 'send':
        return this.send(call);
      case 'pendingWait':
        return this.pendingWait(call.pending, call.bodyHandle);
      case 'select':
        return this.select(call.handles, call.timeoutMs);
      case 'isReady': {
        const ready = this.isReady(call.handle);
        return ready === undefined ? { status: Status.BADF } : { status: Status.OK, done: ready };
      }
      case 'sendDownstream':
        return this.sendDownstream(call.head.status, call.head.headers, call.body, call.streaming);
      case 'handoff':
        return this.handoff(call.head, call.backend);
    }
  }

  private async read(handle: number, max: number): Promise<HostReply> {
    const body = this.body(handle);
    if (!body) return { status: Status.BADF };
    try {
      return { status: Status.OK, data: await body.read(max) };
    } catch (error) {
      if (error instanceof BodyError) {
        this.services.log(`request ${this.id}: body read failed: ${error.message}`);
        return { status: Status.HTTPINCOMPLETE };
      }
      throw error;
    }
  }

  private async drain(handle: number): Promise<HostReply> {
    const body = this.body(handle);
    if (!body) return { status: Status.BADF };
    while (!body.aborted && !this.finished && body.bufferedBytes() >= STREAMING_LOW_WATER) {
      await Promise.race([body.changed(), new Promise((r) => setTimeout(r, 20))]);
    }
    return { status: body.aborted ? Status.ERROR : Status.OK };
  }

  private send(call: Extract<WorkerCall, { op: 'send' }>): HostReply {
    const body = this.body(call.body);
    const backend = this.services.backends.get(call.backend);
    if (!body || !backend) return { status: Status.BADF };
    if (call.streaming) body.open = true;
    else this.bodies.delete(call.body);
    this.pendings.set(
      call.pending,
      new PendingSend(cachedSend(this.services.cache, call.head, body, backend, call.cache, this.services.log, (h, b) => this.upstream(h, b, backend))),
    );
    return { status: Status.OK };
  }

  /** A backend request for this guest: within the backend's share of workers, cancelled if the client goes. */
  private upstream(head: RequestHead, body: HostBody, backend: HostBackend): Promise<BackendResponse> {
    const share = this.services.backendShare;
    if (this.departed) {
      body.abandon();
      return Promise.reject(new SendError(`backend "${backend.name}": not sent, the client went away`, Status.ERROR, sendErrorTagFor(HostSendFailure.CLIENT_GONE)));
    }
    if (!share.tryAcquire(backend.name)) {
      body.abandon();
      const message =
        `backend "${backend.name}" already has ${share.count(backend.name)} requests in flight, its share of the ` +
        `${share.maxWorkers} guest workers (the rest stay free for other requests); this one fails with connection_limit_reached`;
      return Promise.reject(new SendError(message, Status.ERROR, sendErrorTagFor(HostSendFailure.CONNECTION_LIMIT)));
    }
    const sent = sendToBackend(head, body, backend, this.cancel.signal);
    const release = (): void => share.release(backend.name);
    sent.then(release, release);
    return sent;
  }

  /** The client went away before its response was complete: stop the work done for it. */
  clientDeparted(): void {
    if (this.finished || this.departed) return;
    this.departed = true;
    this.services.log(`request ${this.id}: the client went away; its backend requests are cancelled`);
    this.cancel.abort();
  }

  /** Answers without running the guest (the host is overloaded); the request is then done. */
  refuse(status: number, message: string): void {
    this.services.warn(`request ${this.id}: answered ${status} without running the guest: ${message}`);
    this.finished = true;
    this.responded = true;
    this.status = status;
    this.sink.fail(status, message);
    this.downstreamBody.abandon();
    this.bodies.clear();
  }

  private async pendingWait(pending: number, bodyHandle: number): Promise<HostReply> {
    const send = this.pendings.get(pending);
    if (!send) return { status: Status.BADF };
    this.pendings.delete(pending);
    await send.done;
    if (send.error || !send.result) {
      // A send the host refused (a backend over its share of workers) is worth a line without -v.
      const report = send.error?.errorTag === SendErrorTag.CONNECTION_LIMIT_REACHED ? this.services.warn : this.services.log;
      report(`request ${this.id}: ${send.error?.message ?? 'send failed'}`);
      return { status: send.error?.status ?? Status.ERROR, errorTag: send.error?.errorTag ?? SendErrorTag.INTERNAL_ERROR };
    }
    this.bodies.set(bodyHandle, send.result.body);
    return { status: Status.OK, head: send.result.head };
  }

  private isReady(handle: number): boolean | undefined {
    const pending = this.pendings.get(handle);
    if (pending) return pending.settled;
    const body = this.body(handle);
    if (!body) return undefined;
    if (body.open) return body.aborted || body.bufferedBytes() < STREAMING_LOW_WATER;
    return body.readable() || body.aborted;
  }

  private async select(handles: number[], timeoutMs: number): Promise<HostReply> {
    const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : undefined;
    for (;;) {
      // A guest whose worker was stopped (its client went away) waits on nothing any more.
      if (this.finished) return { status: Status.ERROR };
      const waits: Array<Promise<void>> = [];
      for (const [index, handle] of handles.entries()) {
        const ready = this.isReady(handle);
        if (ready === undefined) return { status: Status.BADF };
        if (ready) return { status: Status.OK, index };
        const pending = this.pendings.get(handle);
        waits.push(pending ? pending.changed() : this.body(handle)!.changed());
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout =
        deadline === undefined
          ? undefined
          : new Promise<'timeout'>((resolve) => {
              timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - performance.now()));
            });
      // A streaming body's buffer also drains without an event on the body: poll it gently.
      const poll = new Promise<void>((resolve) => setTimeout(resolve, 50));
      const outcome = await Promise.race([...waits, poll, ...(timeout ? [timeout] : [])]);
      clearTimeout(timer);
      if (outcome === 'timeout') return { status: Status.OK, index: SELECT_TIMED_OUT };
    }
  }

  private sendDownstream(status: number, headers: HeaderList, handle: number, streaming: boolean): HostReply {
    const body = this.body(handle);
    if (!body) return { status: Status.BADF };
    if (this.responded) return { status: Status.ERROR };
    this.responded = true;
    this.status = status;
    if (streaming) body.open = true;
    else this.bodies.delete(handle);
    let out: Writable;
    try {
      out = this.sink.start(status, headers, body.knownLength());
    } catch (error) {
      // Guest header values are checked when set, so this is a last resort: answer, never hang.
      const message = (error as Error).message;
      this.services.log(`request ${this.id}: the guest's response head cannot be sent: ${message}`);
      this.status = 500;
      this.sink.fail(500, `The edge app's response head cannot be sent: ${message}`);
      body.abandon();
      return { status: Status.ERROR };
    }
    body.pipeTo(out).catch((error: Error) => {
      this.services.log(`request ${this.id}: response body failed: ${error.message}`);
      this.sink.abort();
    });
    return { status: Status.OK };
  }

  private handoff(head: RequestHead, backend: string): HostReply {
    if (this.responded) return { status: Status.ERROR };
    this.responded = true;
    // The handoff sends the original body: the guest no longer owns it.
    this.bodies.delete(this.downstreamBodyHandle);
    this.services.log(`request ${this.id}: Fanout handoff to backend "${backend}"`);
    performHandoff({
      pushpinPort: this.services.pushpinPort,
      backend,
      guestHead: head,
      originalHeaders: this.downstreamHead.headers,
      originalBody: this.downstreamBody,
      sink: this.sink,
      log: this.services.log,
      onStatus: (status) => {
        this.status = status;
      },
    });
    return { status: Status.OK };
  }

  /** The guest is done (returned or trapped): answer if it never did, and release what it held. */
  finish(trap: string | undefined): void {
    this.finished = true;
    if (trap) this.services.log(`request ${this.id}: guest trapped: ${trap}`);
    if (!this.responded) {
      this.responded = true;
      if (trap) {
        this.status = 500;
        this.sink.fail(500, `The edge app failed: ${trap}`);
      } else {
        // Like Viceroy: a guest that sends nothing answers an empty 200.
        this.status = 200;
        this.sink.start(200, [], 0).end();
      }
    }
    for (const [handle, body] of this.bodies) {
      // A streaming body is complete only when the guest closes it (Viceroy's "finish"): one still
      // open when the guest ended, by trap or not, is abandoned, so its reader sees it cut short.
      if (body.open) this.services.log(`request ${this.id}: the guest ended without closing streaming body ${handle}; it is cut off`);
      // The downstream body is drained, not destroyed (that would close the client's socket).
      body.abandon();
      this.bodies.delete(handle);
    }
    for (const pending of this.pendings.values()) {
      void pending.done.then(() => pending.result?.body.abandon());
    }
    this.pendings.clear();
  }
}
