import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { awaitReply, sendReply } from './workerReplies.ts';

describe('the worker reply handshake', () => {
  it('does not sleep when the reply lands between a failed read and the wait (the race)', () => {
    const { port1: main, port2: worker } = new MessageChannel();
    const signal = new Int32Array(new SharedArrayBuffer(8));
    // An earlier call's reply was read as soon as it was posted, so its signal is still raised; then
    // the worker looks for the next reply, finds nothing, and before it decides what to do next the
    // main thread posts the reply and raises the signal.
    sendReply(main, signal, { status: 9 });
    receiveMessageOnPort(worker);
    let raced = false;
    const started = performance.now();
    const reply = awaitReply(worker, signal, (port) => {
      const found = receiveMessageOnPort(port);
      if (!found && !raced) {
        raced = true;
        sendReply(main, signal, { status: 0 });
      }
      return found;
    });
    expect(reply.status).toBe(0);
    expect(performance.now() - started).toBeLessThan(500);
    main.close();
    worker.close();
  });

  it('matches every reply to its call across threads, whenever the reply comes', async () => {
    const { port1: main, port2: worker } = new MessageChannel();
    const signal = new Int32Array(new SharedArrayBuffer(8));
    const calls = new MessageChannel();
    const thread = new Worker(
      `const { workerData } = require('node:worker_threads');
       require('tsx/cjs/api').register();
       const { awaitReply } = require(${JSON.stringify(new URL('./workerReplies.ts', import.meta.url).pathname)});
       const { replies, calls, signal, count } = workerData;
       const out = [];
       for (let i = 1; i <= count; i++) {
         calls.postMessage(i);
         out.push(awaitReply(replies, signal).value === i * 2);
       }
       calls.postMessage({ done: out.every(Boolean) });`,
      { eval: true, workerData: { replies: worker, calls: calls.port2, signal, count: 2000 }, transferList: [worker, calls.port2] },
    );
    const result = await new Promise<{ done: boolean }>((resolve) => {
      calls.port1.on('message', (message: number | { done: boolean }) => {
        if (typeof message !== 'number') return resolve(message);
        const answer = (): void => sendReply(main, signal, { status: 0, value: message * 2 });
        // Replies come synchronously, after a microtask, after an I/O turn or after a timer.
        if (message % 4 === 0) answer();
        else if (message % 4 === 1) queueMicrotask(answer);
        else if (message % 4 === 2) setImmediate(answer);
        else setTimeout(answer, 0);
      });
    });
    expect(result.done).toBe(true);
    await thread.terminate();
    main.close();
    calls.port1.close();
  }, 30_000);
});
