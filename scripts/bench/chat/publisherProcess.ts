// A chat benchmark load process publishing: its channels' messages on schedule (chatPlan.ts), one
// message per request as a chat client posts it, over its share of the publisher connections: HTTP
// keep-alive connections to the origin's POST /api/publish, or socket.io-client sockets emitting
// `publish` to the Socket.IO server (which relays to the room and answers with the id). Each message
// carries the wall-clock time it was sent, from which the subscribers compute latency; the ids in the
// answers are what every subscriber of the channel must receive. Started by chatCase.ts through
// childLink.ts; exits when the IPC channel closes.
import { Agent, request } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { emptyHistogram, record, type LatencyHistogram } from '../fanout/latencyHistogram.ts';
import { wallClock } from '../fanout/wallClock.ts';
import { channelName, publishSchedule } from './chatPlan.ts';
import type { ChatSystem } from './subscriberProcess.ts';

export interface PublisherPlan {
  system: ChatSystem;
  /** The origin (POST <url>/api/publish) or the Socket.IO server. */
  url: string;
  token: string;
  /** Indexes of the channels this process publishes to. */
  channels: number[];
  totalChannels: number;
  rate: number;
  seconds: number;
  /** Connections this process publishes over. */
  connections: number;
}

export interface PublisherResult {
  /** Channel name -> the ids the publishes were answered with. */
  ids: Map<string, number[]>;
  sent: number;
  failures: number;
  failureReasons: Record<string, number>;
  /** Request to answer, ms. */
  answerMs: LatencyHistogram;
  /** How far behind its schedule each publish went out, ms (this process's own lag, not the system's). */
  lateMs: LatencyHistogram;
  firstSentAt: number;
  lastSentAt: number;
  lastAnsweredAt: number;
}

export type ToPublishers = { type: 'start'; plan: PublisherPlan } | { type: 'go'; startAt: number } | { type: 'stop' };
export type FromPublishers = { type: 'ready' } | { type: 'done'; result: PublisherResult } | { type: 'failed'; message: string };

/** To the benchmark, while it is there (a stopped benchmark is no error). */
const send = (message: FromPublishers): void => {
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
};

/** A publish not answered within this long failed (it may still have been stored). */
const PUBLISH_TIMEOUT_MS = 30_000;

type PublishOne = (channel: string, data: Record<string, unknown>) => Promise<string>;

let plan: PublisherPlan | undefined;
let publishOne: PublishOne | undefined;
const sockets: Socket[] = [];
let agent: Agent | undefined;

function httpPublisher(p: PublisherPlan): PublishOne {
  // Every connection in turn (fifo) and idle ones closed after 4 s: the origin closes a keep-alive
  // connection idle for 5 s (Node's default), and a request sent on it just then fails (ECONNRESET).
  agent = new Agent({ keepAlive: true, maxSockets: p.connections, scheduling: 'fifo', timeout: 4000 });
  const url = new URL('/api/publish', p.url);
  return (channel, data) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ channel, data });
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: { Authorization: `Bearer ${p.token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
          timeout: PUBLISH_TIMEOUT_MS,
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            if (response.statusCode !== 200) return reject(new Error(`HTTP ${response.statusCode}: ${text.slice(0, 120)}`));
            const id = (JSON.parse(text) as { messages?: Array<{ id?: unknown }> }).messages?.[0]?.id;
            if (typeof id === 'string') resolve(id);
            else reject(new Error(`answer without an id: ${text.slice(0, 120)}`));
          });
          response.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${PUBLISH_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(body);
    });
}

async function socketIoPublisher(p: PublisherPlan): Promise<PublishOne> {
  for (let i = 0; i < p.connections; i++) {
    sockets.push(io(p.url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 3000 }));
  }
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.connected ? resolve() : s.once('connect', () => resolve())))));
  let next = 0;
  return (channel, data) =>
    new Promise((resolve, reject) => {
      const socket = sockets[next++ % sockets.length]!;
      socket.timeout(PUBLISH_TIMEOUT_MS).emit('publish', { channel, data }, (error: Error | null, answer?: { id?: unknown; error?: string }) => {
        if (error) return reject(new Error(`no answer within ${PUBLISH_TIMEOUT_MS / 1000} s`));
        if (typeof answer?.id === 'string') resolve(answer.id);
        else reject(new Error(`refused: ${answer?.error ?? 'no id'}`));
      });
    });
}

async function prepare(p: PublisherPlan): Promise<void> {
  plan = p;
  publishOne = p.system === 'stack' ? httpPublisher(p) : await socketIoPublisher(p);
  send({ type: 'ready' });
}

function go(startAt: number): void {
  const p = plan!;
  const publish = publishOne!;
  const schedule = publishSchedule(p.channels, p.totalChannels, p.rate, p.seconds);
  const ids = new Map<string, number[]>();
  const result: PublisherResult = {
    ids,
    sent: 0,
    failures: 0,
    failureReasons: {},
    answerMs: emptyHistogram(),
    lateMs: emptyHistogram(),
    firstSentAt: Infinity,
    lastSentAt: -Infinity,
    lastAnsweredAt: -Infinity,
  };
  const answered: Array<{ channel: string; id: number }> = [];
  const inFlight: Array<Promise<void>> = [];
  const seq = new Map<number, number>();
  let i = 0;
  const fire = (): void => {
    const now = wallClock();
    while (i < schedule.length && startAt + schedule[i]!.atMs <= now) {
      const { channel: index, atMs } = schedule[i++]!;
      const channel = channelName(index);
      const k = seq.get(index) ?? 0;
      seq.set(index, k + 1);
      const sentAt = wallClock();
      record(result.lateMs, sentAt - (startAt + atMs));
      result.sent++;
      if (sentAt < result.firstSentAt) result.firstSentAt = sentAt;
      result.lastSentAt = sentAt;
      inFlight.push(
        publish(channel, { sentAt, seq: k, text: `message ${k} in ${channel}, the chat benchmark's` }).then(
          (id) => {
            const at = wallClock();
            record(result.answerMs, at - sentAt);
            result.lastAnsweredAt = Math.max(result.lastAnsweredAt, at);
            answered.push({ channel, id: Number(id) });
          },
          (error: unknown) => {
            result.failures++;
            const reason = (error instanceof Error ? error.message : String(error)).slice(0, 160);
            result.failureReasons[reason] = (result.failureReasons[reason] ?? 0) + 1;
          },
        ),
      );
    }
    if (i < schedule.length) setTimeout(fire, Math.max(0, startAt + schedule[i]!.atMs - wallClock()));
    else void Promise.all(inFlight).then(done);
  };
  const done = (): void => {
    for (const { channel, id } of answered) {
      const list = ids.get(channel);
      if (list) list.push(id);
      else ids.set(channel, [id]);
    }
    for (const list of ids.values()) list.sort((a, b) => a - b);
    send({ type: 'done', result });
  };
  setTimeout(fire, Math.max(0, startAt - wallClock()));
}

process.on('message', (message: ToPublishers) => {
  if (message.type === 'start') {
    prepare(message.plan).catch((error: unknown) => send({ type: 'failed', message: (error as Error).stack ?? String(error) }));
  } else if (message.type === 'go') {
    go(message.startAt);
  } else if (message.type === 'stop') {
    for (const s of sockets) s.disconnect();
    agent?.destroy();
    process.disconnect();
    setTimeout(() => process.exit(0), 200).unref();
  }
});

process.on('disconnect', () => process.exit(0));
if (!process.connected) {
  console.error('publisherProcess.ts is started by the chat benchmark (it needs an IPC channel)');
  process.exit(2);
}
