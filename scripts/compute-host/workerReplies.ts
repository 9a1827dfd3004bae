// The reply handshake between the main thread and a guest worker blocked in a hostcall. The main
// thread writes the reply into a shared buffer (or, when it does not fit, posts it on a MessagePort),
// says where in a shared slot, then counts it in a shared counter and notifies; the worker sleeps only
// while the counter still has the value it had after the last reply it took. A reply counted at any
// moment either moved the counter before the worker's wait (which then returns at once) or wakes it:
// no lost wakeup, no timeout. The worker makes one blocking call at a time and every such call gets
// exactly one reply, so replies come in order and the buffer is never overwritten before it is read.
//
// Why not always the MessagePort: a postMessage costs a structured clone and a wakeup of the worker's
// event loop (which is blocked anyway); a hostcall reply is a few small fields, and a request makes
// several, so the shared buffer saves both threads a few tens of microseconds each time.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { HostReply } from './hostProtocol.ts';

/** Where the reply counter sits in the worker's shared Int32Array. */
export const REPLY_COUNTER = 0;
/** Where the last reply is: REPLY_IN_BUFFER or REPLY_ON_PORT. */
export const REPLY_WHERE = 2;
const REPLY_IN_BUFFER = 0;
const REPLY_ON_PORT = 1;

/** Replies (with their data) up to this size go through the shared buffer; bigger ones on the port. */
export const REPLY_BUFFER_BYTES = 128 * 1024;
/** jsonLength, dataLength + 1 (0: no data), then the JSON and the data. */
const HEADER_BYTES = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface ReplyChannel {
  port: MessagePort;
  /** The worker's shared slots (hostProtocol.ts SHARED_SLOTS). */
  signal: Int32Array;
  /** REPLY_BUFFER_BYTES of shared memory. */
  buffer: Uint8Array;
}

export function replyBuffer(): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(REPLY_BUFFER_BYTES));
}

/** Writes the reply into the shared buffer; false when it does not fit (or would not survive UTF-8). */
function writeShared(buffer: Uint8Array, reply: HostReply): boolean {
  const { data, ...fields } = reply;
  // Well-formed: JSON.stringify writes a lone surrogate as an escape, so UTF-8 round-trips every string.
  const json = JSON.stringify(fields);
  const dataLength = data?.length ?? 0;
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  if (HEADER_BYTES + json.length * 3 + dataLength > buffer.length) return false;
  const { written } = encoder.encodeInto(json, buffer.subarray(HEADER_BYTES));
  const view = new DataView(buffer.buffer, buffer.byteOffset, HEADER_BYTES);
  view.setUint32(0, written, true);
  view.setUint32(4, data ? dataLength + 1 : 0, true);
  if (data) buffer.set(data, HEADER_BYTES + written);
  return true;
}

function readShared(buffer: Uint8Array): HostReply {
  const view = new DataView(buffer.buffer, buffer.byteOffset, HEADER_BYTES);
  const jsonLength = view.getUint32(0, true);
  const dataField = view.getUint32(4, true);
  // decode() does not accept a view of shared memory: copy the JSON out first (it is small).
  const reply = JSON.parse(decoder.decode(buffer.slice(HEADER_BYTES, HEADER_BYTES + jsonLength))) as HostReply;
  if (dataField > 0) {
    const start = HEADER_BYTES + jsonLength;
    // A copy: the buffer takes the next reply.
    reply.data = buffer.slice(start, start + dataField - 1);
  }
  return reply;
}

/** Main thread: hand a reply to the worker waiting for it. */
export function sendReply(channel: ReplyChannel, reply: HostReply): void {
  if (writeShared(channel.buffer, reply)) Atomics.store(channel.signal, REPLY_WHERE, REPLY_IN_BUFFER);
  else {
    channel.port.postMessage(reply);
    Atomics.store(channel.signal, REPLY_WHERE, REPLY_ON_PORT);
  }
  Atomics.add(channel.signal, REPLY_COUNTER, 1);
  Atomics.notify(channel.signal, REPLY_COUNTER);
}

/** Worker: takes the replies to its calls, one per call, in order. */
export class ReplyReader {
  /** The counter's value once the last reply taken was counted. */
  private taken: number;

  /** `receive` is replaceable for tests only. */
  constructor(
    private readonly channel: ReplyChannel,
    private readonly receive: (port: MessagePort) => { message: unknown } | undefined = receiveMessageOnPort,
  ) {
    this.taken = Atomics.load(channel.signal, REPLY_COUNTER);
  }

  /** Blocks until the reply to the call just made arrives. */
  await(): HostReply {
    const { signal, buffer, port } = this.channel;
    while (Atomics.load(signal, REPLY_COUNTER) === this.taken) Atomics.wait(signal, REPLY_COUNTER, this.taken);
    this.taken++;
    if (Atomics.load(signal, REPLY_WHERE) === REPLY_IN_BUFFER) return readShared(buffer);
    // Posted before it was counted, so it is on the port already.
    for (;;) {
      const received = this.receive(port);
      if (received) return received.message as HostReply;
      Atomics.wait(signal, REPLY_COUNTER, this.taken, 1);
    }
  }
}
