// A body as the host holds it: a queue of byte chunks and live streams (a backend response, the
// downstream request), read incrementally so nothing is buffered whole. A body the guest streams into
// (send_downstream / send_async_streaming with streaming=1) stays open until the guest closes it.
import type { Readable, Writable } from 'node:stream';

type Segment = { bytes: Buffer } | { stream: StreamSource };

/** Pulls a Readable in flowing mode into a small queue, pausing it past a high-water mark. */
class StreamSource {
  chunks: Buffer[] = [];
  buffered = 0;
  ended = false;
  error: Error | undefined;
  /** Bytes the stream declared (content-length) and whether any was taken yet. */
  untouched = true;

  constructor(
    readonly stream: Readable,
    readonly declaredLength: number | undefined,
    public notify: () => void,
    /** The downstream request must not be destroyed (that closes the client socket): drain it instead. */
    private readonly destroyOnDispose: boolean,
  ) {
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered > HIGH_WATER) stream.pause();
      this.notify();
    });
    stream.once('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.once('error', (error) => {
      this.error = error;
      this.notify();
    });
    stream.once('close', () => {
      if (!this.ended && !this.error) this.error = new Error('stream closed before its end');
      this.notify();
    });
  }

  take(max: number): Buffer | undefined {
    const first = this.chunks[0];
    if (!first) return undefined;
    this.untouched = false;
    let out: Buffer;
    if (first.length <= max) {
      this.chunks.shift();
      out = first;
    } else {
      out = first.subarray(0, max);
      this.chunks[0] = first.subarray(max);
    }
    this.buffered -= out.length;
    if (this.buffered <= HIGH_WATER / 2 && this.stream.isPaused()) this.stream.resume();
    return out;
  }

  dispose(): void {
    this.chunks = [];
    this.buffered = 0;
    if (this.destroyOnDispose) this.stream.destroy();
    else {
      this.stream.removeAllListeners('data');
      this.stream.resume();
    }
  }
}

const HIGH_WATER = 256 * 1024;

export class BodyError extends Error {
  override name = 'BodyError';
}

export class HostBody {
  private segments: Segment[] = [];
  /** True while a guest writes into it (streaming); reads then wait instead of seeing the end. */
  open = false;
  private waiters = new Set<() => void>();
  /** Bytes taken by readers, kept (up to a limit) so the Fanout handoff can resend the original body. */
  private consumedCopy: Buffer[] | undefined;
  private consumedCopyBytes = 0;
  consumedCopyTruncated = false;
  aborted = false;

  static fromBytes(bytes: Uint8Array): HostBody {
    const body = new HostBody();
    if (bytes.length > 0) body.segments.push({ bytes: Buffer.from(bytes) });
    return body;
  }

  static fromStream(stream: Readable, declaredLength?: number, destroyOnDispose = true): HostBody {
    const body = new HostBody();
    body.segments.push({ stream: new StreamSource(stream, declaredLength, () => body.wake(), destroyOnDispose) });
    return body;
  }

  /** Keep a copy of what readers take (the downstream body, for a later handoff). */
  recordConsumption(): void {
    this.consumedCopy = [];
  }

  consumedBytes(): Buffer {
    return Buffer.concat(this.consumedCopy ?? []);
  }

  write(data: Uint8Array, front: boolean): void {
    if (data.length === 0) return;
    const segment = { bytes: Buffer.from(data) };
    if (front) this.segments.unshift(segment);
    else this.segments.push(segment);
    this.wake();
  }

  /** Moves everything of `other` to the end of this body. */
  append(other: HostBody): void {
    for (const segment of other.segments) {
      if ('stream' in segment) segment.stream.notify = () => this.wake();
      this.segments.push(segment);
    }
    other.segments = [];
    this.wake();
  }

  close(): void {
    this.open = false;
    this.wake();
  }

  abandon(): void {
    this.aborted = true;
    this.observers = [];
    for (const segment of this.segments) if ('stream' in segment) segment.stream.dispose();
    this.segments = [];
    this.open = false;
    this.wake();
  }

  /** Bytes queued in memory (not counting what streams have not delivered yet). */
  bufferedBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += 'bytes' in segment ? segment.bytes.length : segment.stream.buffered;
    return total;
  }

  knownLength(): number | undefined {
    if (this.open) return undefined;
    let total = 0;
    for (const segment of this.segments) {
      if ('bytes' in segment) total += segment.bytes.length;
      else if (segment.stream.ended && !segment.stream.error) total += segment.stream.buffered;
      else if (segment.stream.untouched && segment.stream.declaredLength !== undefined) total += segment.stream.declaredLength;
      else return undefined;
    }
    return total;
  }

  /** Ready to read: data is there, or the end, or an error. */
  readable(): boolean {
    for (const segment of this.segments) {
      if ('bytes' in segment) return true;
      const source = segment.stream;
      if (source.chunks.length > 0 || source.error) return true;
      if (!source.ended) return false;
    }
    return !this.open;
  }

  /** Takes up to `max` bytes without waiting: undefined when nothing is there yet, empty at the end. */
  tryRead(max: number): Buffer | undefined {
    while (this.segments.length > 0) {
      const segment = this.segments[0]!;
      if ('bytes' in segment) {
        const bytes = segment.bytes;
        let out: Buffer;
        if (bytes.length <= max) {
          this.segments.shift();
          out = bytes;
        } else {
          out = bytes.subarray(0, max);
          segment.bytes = bytes.subarray(max);
        }
        return this.recordTaken(out);
      }
      const source = segment.stream;
      const chunk = source.take(max);
      if (chunk) return this.recordTaken(chunk);
      if (source.error) throw new BodyError(source.error.message);
      if (!source.ended) return undefined;
      this.segments.shift();
    }
    if (this.open) return undefined;
    const observers = this.observers;
    this.observers = [];
    for (const observer of observers) observer.onEnd();
    return Buffer.alloc(0);
  }

  private observers: Array<{ onChunk: (chunk: Buffer) => void; onEnd: () => void }> = [];

  /** Sees every chunk readers take, then the end (not called when the body is abandoned). */
  observe(onChunk: (chunk: Buffer) => void, onEnd: () => void): void {
    this.observers.push({ onChunk, onEnd });
  }

  private recordTaken(chunk: Buffer): Buffer {
    for (const observer of this.observers) observer.onChunk(chunk);
    if (this.consumedCopy) {
      if (this.consumedCopyBytes + chunk.length <= CONSUMED_COPY_LIMIT) {
        this.consumedCopy.push(chunk);
        this.consumedCopyBytes += chunk.length;
      } else this.consumedCopyTruncated = true;
    }
    return chunk;
  }

  async read(max: number): Promise<Buffer> {
    for (;;) {
      const chunk = this.tryRead(max);
      if (chunk) return chunk;
      if (this.aborted) return Buffer.alloc(0);
      await this.changed();
    }
  }

  /** Resolves on the next change (data, end, error, close). */
  changed(): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * Streams the whole body into `sink` with backpressure; ends the sink unless told not to. Rejects
   * when the body fails or is abandoned before its end, so the caller can cut the sink instead.
   */
  async pipeTo(sink: Writable, options: { end?: boolean; onChunk?: (chunk: Buffer) => void } = {}): Promise<void> {
    for (;;) {
      if (sink.destroyed) {
        this.abandon();
        return;
      }
      const chunk = await this.read(64 * 1024);
      // Abandoned before its end (a streaming body the guest never closed): the sink must not look complete.
      if (chunk.length === 0 && this.aborted) throw new BodyError('the body was abandoned before its end');
      if (chunk.length === 0) break;
      options.onChunk?.(chunk);
      if (!sink.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            sink.off('drain', done);
            sink.off('close', done);
            resolve();
          };
          sink.on('drain', done);
          sink.on('close', done);
        });
      }
    }
    if (options.end !== false && !sink.destroyed) sink.end();
  }
}

const CONSUMED_COPY_LIMIT = 1024 * 1024;
