// Reading and writing the guest's linear memory, and the ABI's output conventions (out-pointers,
// "buffer too small" answers, multi-value cursors). The memory may grow between calls, so every
// access takes a fresh view.
import { Status } from './hostcallAbi.ts';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * A module's linear memory as instantiation leaves it (its data segments): the bytes, in shared memory
 * (every worker resets its instance to this one copy instead of keeping its own, ~7 MiB each for the
 * edge), and where they are not zero. Most of a js-compute guest's memory starts zeroed (about 60% of
 * the edge's), so a reset writes zeros there and copies only the rest: about half the work of copying
 * it all, and the zeroing reads nothing.
 */
export interface MemoryImage {
  bytes: Uint8Array;
  /** [start, end) byte ranges holding every non-zero byte, in order, as start/end pairs. */
  dataSpans: Uint32Array;
}

/** The granularity of `dataSpans`: a span covers whole pages, so a few spans cover the image. */
const SPAN_PAGE = 4096;

export function memoryImageOf(bytes: Uint8Array): MemoryImage {
  const spans: number[] = [];
  for (let page = 0; page < bytes.length; page += SPAN_PAGE) {
    const end = Math.min(bytes.length, page + SPAN_PAGE);
    if (!hasNonZero(bytes, page, end)) continue;
    if (spans.length > 0 && spans[spans.length - 1] === page) spans[spans.length - 1] = end;
    else spans.push(page, end);
  }
  return { bytes, dataSpans: Uint32Array.from(spans) };
}

function hasNonZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return true;
  return false;
}

/** Makes `target` (as long as the image) byte for byte the image again. */
export function restoreMemory(target: Uint8Array, image: MemoryImage): void {
  if (target.length !== image.bytes.length) throw new Error(`cannot restore ${image.bytes.length} bytes of memory into ${target.length}`);
  const spans = image.dataSpans;
  let zeroFrom = 0;
  for (let i = 0; i < spans.length; i += 2) {
    const start = spans[i]!;
    const end = spans[i + 1]!;
    if (start > zeroFrom) target.fill(0, zeroFrom, start);
    target.set(image.bytes.subarray(start, end), start);
    zeroFrom = end;
  }
  if (zeroFrom < target.length) target.fill(0, zeroFrom);
}

/** Instantiating runs no guest code (the entry point is the exported _start), so no import is called. */
export function initialMemoryImage(module: WebAssembly.Module): MemoryImage {
  const imports: Record<string, Record<string, () => never>> = {};
  for (const { module: name, name: field } of WebAssembly.Module.imports(module)) {
    (imports[name] ??= {})[field] = () => {
      throw new Error('a guest import was called while reading the initial memory');
    };
  }
  const memory = new WebAssembly.Instance(module, imports).exports.memory as WebAssembly.Memory;
  const image = new Uint8Array(new SharedArrayBuffer(memory.buffer.byteLength));
  image.set(new Uint8Array(memory.buffer));
  return memoryImageOf(image);
}

export class GuestMemory {
  memory: WebAssembly.Memory | undefined;

  private get buffer(): ArrayBuffer {
    if (!this.memory) throw new Error('guest memory is not attached yet');
    return this.memory.buffer as ArrayBuffer;
  }

  bytes(ptr: number, len: number): Uint8Array {
    // A copy: the guest may reuse the memory as soon as the hostcall returns.
    return new Uint8Array(this.buffer, ptr >>> 0, len >>> 0).slice();
  }

  string(ptr: number, len: number): string {
    return decoder.decode(new Uint8Array(this.buffer, ptr >>> 0, len >>> 0));
  }

  /**
   * Bytes as a "byte string" (latin1: one char per byte), how HTTP header values are held: Node
   * parses and writes header values that way, so a guest's bytes reach the wire unchanged, as in Viceroy.
   */
  byteString(ptr: number, len: number): string {
    return Buffer.from(this.buffer, ptr >>> 0, len >>> 0).toString('latin1');
  }

  u32s(ptr: number, count: number): number[] {
    const view = new DataView(this.buffer);
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(view.getUint32((ptr >>> 0) + i * 4, true));
    return out;
  }

  setU32(ptr: number, value: number): void {
    new DataView(this.buffer).setUint32(ptr >>> 0, value >>> 0, true);
  }

  setU16(ptr: number, value: number): void {
    new DataView(this.buffer).setUint16(ptr >>> 0, value, true);
  }

  setU8(ptr: number, value: number): void {
    new DataView(this.buffer).setUint8(ptr >>> 0, value);
  }

  setU64(ptr: number, value: bigint): void {
    new DataView(this.buffer).setBigUint64(ptr >>> 0, value, true);
  }

  setI64(ptr: number, value: bigint): void {
    new DataView(this.buffer).setBigInt64(ptr >>> 0, value, true);
  }

  copyIn(ptr: number, data: Uint8Array): void {
    new Uint8Array(this.buffer, ptr >>> 0, data.length).set(data);
  }

  /** Writes `data` into a guest buffer; when it does not fit, reports the size needed and BUFLEN. */
  writeOut(buf: number, bufLen: number, nwrittenOut: number, data: Uint8Array | string): number {
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    if (bytes.length > bufLen >>> 0) {
      this.setU32(nwrittenOut, bytes.length);
      return Status.BUFLEN;
    }
    this.copyIn(buf, bytes);
    this.setU32(nwrittenOut, bytes.length);
    return Status.OK;
  }

  /**
   * The multi-value protocol: NUL-terminated values from `cursor` on, as many as fit; the ending
   * cursor is -1 when all were written. Not even one fitting is BUFLEN with the size needed.
   */
  writeValues(
    values: string[],
    buf: number,
    bufLen: number,
    cursor: number,
    endingCursorOut: number,
    nwrittenOut: number,
    encoding: 'utf8' | 'latin1' = 'utf8',
  ): number {
    let offset = 0;
    let index = cursor >>> 0;
    const capacity = bufLen >>> 0;
    for (; index < values.length; index++) {
      const bytes = encoding === 'latin1' ? Buffer.from(values[index]!, 'latin1') : encoder.encode(values[index]!);
      if (offset + bytes.length + 1 > capacity) {
        if (offset === 0) {
          this.setU32(nwrittenOut, bytes.length + 1);
          return Status.BUFLEN;
        }
        break;
      }
      this.copyIn(buf + offset, bytes);
      this.setU8(buf + offset + bytes.length, 0);
      offset += bytes.length + 1;
    }
    this.setI64(endingCursorOut, index >= values.length ? -1n : BigInt(index));
    this.setU32(nwrittenOut, offset);
    return Status.OK;
  }
}
