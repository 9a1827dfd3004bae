// The reply handshake between the main thread and a guest worker blocked in a hostcall. The main
// thread posts the reply on a MessagePort, then counts it in a shared counter and notifies; the worker
// reads the counter, tries the port, and sleeps only while the counter still has the value it read.
// A reply posted at any moment either is on the port when the worker looks, or has moved the counter
// so the wait returns at once: no lost wakeup, no timeout, no sequence numbers. The worker makes one
// blocking call at a time and every such call gets exactly one reply, so replies come in order.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { HostReply } from './hostProtocol.ts';

/** Where the reply counter sits in the worker's shared Int32Array. */
export const REPLY_COUNTER = 0;

/** Main thread: hand a reply to the worker waiting for it. */
export function sendReply(port: MessagePort, signal: Int32Array, reply: HostReply): void {
  port.postMessage(reply);
  Atomics.add(signal, REPLY_COUNTER, 1);
  Atomics.notify(signal, REPLY_COUNTER);
}

/** Worker: blocks until the reply to its call arrives. `receive` is replaceable for tests only. */
export function awaitReply(
  port: MessagePort,
  signal: Int32Array,
  receive: (port: MessagePort) => { message: unknown } | undefined = receiveMessageOnPort,
): HostReply {
  for (;;) {
    const seen = Atomics.load(signal, REPLY_COUNTER);
    const received = receive(port);
    if (received) return received.message as HostReply;
    Atomics.wait(signal, REPLY_COUNTER, seen);
  }
}
