// The reply handshake between the main thread and a guest worker blocked in a hostcall: the main
// thread posts the reply on a MessagePort and raises a shared signal; the worker sleeps on the signal
// (Atomics.wait) and reads the reply with receiveMessageOnPort.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { HostReply } from './hostProtocol.ts';

/** Main thread: hand a reply to the worker waiting for it. */
export function sendReply(port: MessagePort, signal: Int32Array, reply: HostReply): void {
  port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/** Worker, before it posts a call: lower the signal. */
export function prepareForReply(signal: Int32Array): void {
  Atomics.store(signal, 0, 0);
}

/** Worker: blocks until the reply to its call arrives. `receive` is replaceable for tests only. */
export function awaitReply(
  port: MessagePort,
  signal: Int32Array,
  seq: number,
  receive: (port: MessagePort) => { message: unknown } | undefined = receiveMessageOnPort,
): HostReply {
  for (;;) {
    Atomics.wait(signal, 0, 0, 1000);
    const received = receive(port);
    if (!received) {
      // A raised signal with nothing to read is left over from an earlier reply: lower it.
      if (Atomics.compareExchange(signal, 0, 1, 0) === 1) process.stderr.write('compute-host: lowered a stale signal\n');
      continue;
    }
    const reply = received.message as HostReply;
    if (reply.seq !== seq) continue;
    return reply;
  }
}
