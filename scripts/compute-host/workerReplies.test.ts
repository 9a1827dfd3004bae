import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { REPLY_BUFFER_BYTES, ReplyReader, replyBuffer, sendReply, type ReplyChannel } from './workerReplies.ts';
import type { HostReply } from './hostProtocol.ts';

function channelPair(): { main: ReplyChannel; worker: ReplyChannel; close(): void } {
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(12));
  const buffer = replyBuffer();
  return {
    main: { port: port1, signal, buffer },
    worker: { port: port2, signal, buffer },
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

describe('the worker reply handshake', () => {
  it('does not sleep when the reply was counted before the worker waits (the race)', () => {
    const pair = channelPair();
    const reader = new ReplyReader(pair.worker);
    sendReply(pair.main, { status: 9, value: 3 });
    const started = performance.now();
    expect(reader.await()).toEqual({ status: 9, value: 3 });
    expect(performance.now() - started).toBeLessThan(500);
    pair.close();
  });

  it('passes every field through the shared buffer, byte strings and data included', () => {
    const pair = channelPair();
    const reader = new ReplyReader(pair.worker);
    const reply: HostReply = {
      status: 0,
      head: { status: 200, headers: [['x-bytes', '\u00ff\u00e9 caf\u00e9'], ['x-odd', 'lone \ud800 surrogate']], remoteAddress: '127.0.0.1', remotePort: 80 },
      data: new Uint8Array([0, 1, 2, 255]),
      done: true,
      index: -1,
    };
    sendReply(pair.main, reply);
    // Nothing went on the port.
    expect(receiveMessageOnPort(pair.worker.port)).toBeUndefined();
    const received = reader.await();
    expect(received).toEqual({ ...reply, data: new Uint8Array([0, 1, 2, 255]) });
    // The data is the worker's own copy: the buffer takes the next reply.
    sendReply(pair.main, { status: 0, data: new Uint8Array([7]) });
    expect(reader.await().data).toEqual(new Uint8Array([7]));
    expect(received.data).toEqual(new Uint8Array([0, 1, 2, 255]));
    pair.close();
  });

  it('sends a reply too big for the buffer on the port, and the next small one through the buffer again', () => {
    const pair = channelPair();
    const reader = new ReplyReader(pair.worker);
    const big = new Uint8Array(REPLY_BUFFER_BYTES + 1).fill(5);
    sendReply(pair.main, { status: 0, data: big });
    expect(reader.await().data).toEqual(big);
    sendReply(pair.main, { status: 4 });
    expect(reader.await()).toEqual({ status: 4 });
    pair.close();
  });

  it('matches every reply to its call across threads, whenever the reply comes and whatever its size', async () => {
    const pair = channelPair();
    const calls = new MessageChannel();
    const thread = new Worker(
      `const { workerData } = require('node:worker_threads');
       require('tsx/cjs/api').register();
       const { ReplyReader } = require(${JSON.stringify(new URL('./workerReplies.ts', import.meta.url).pathname)});
       const { port, signal, buffer, calls, count } = workerData;
       const reader = new ReplyReader({ port, signal, buffer });
       let ok = true;
       for (let i = 1; i <= count; i++) {
         calls.postMessage(i);
         const reply = reader.await();
         if (reply.value !== i * 2) ok = false;
         if (i % 7 === 0 && (reply.data?.length !== ${REPLY_BUFFER_BYTES} * 2 || reply.data[0] !== i % 256)) ok = false;
       }
       calls.postMessage({ done: ok });`,
      {
        eval: true,
        workerData: { port: pair.worker.port, signal: pair.worker.signal, buffer: pair.worker.buffer, calls: calls.port2, count: 2000 },
        transferList: [pair.worker.port, calls.port2],
      },
    );
    const result = await new Promise<{ done: boolean }>((resolve) => {
      calls.port1.on('message', (message: number | { done: boolean }) => {
        if (typeof message !== 'number') return resolve(message);
        // Every seventh reply is too big for the buffer and goes on the port.
        const data = message % 7 === 0 ? new Uint8Array(REPLY_BUFFER_BYTES * 2).fill(message % 256) : undefined;
        const answer = (): void => sendReply(pair.main, { status: 0, value: message * 2, ...(data ? { data } : {}) });
        // Replies come synchronously, after a microtask, after an I/O turn or after a timer.
        if (message % 4 === 0) answer();
        else if (message % 4 === 1) queueMicrotask(answer);
        else if (message % 4 === 2) setImmediate(answer);
        else setTimeout(answer, 0);
      });
    });
    expect(result.done).toBe(true);
    await thread.terminate();
    pair.main.port.close();
    calls.port1.close();
  }, 60_000);
});
