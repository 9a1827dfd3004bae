// The benchmark's subscribers, each behaving as a real client of its transport does: an EventSource
// (the WHATWG algorithm over node:http, see eventStreamParser.ts: reconnects with Last-Event-ID), a WebSocket that subscribes with
// `since` (and again after a reconnect), an NDJSON stream and a long-poll loop that come back with
// `?since=`, and a Socket.IO client (socket.io-client, reconnecting by itself, subscribing with `since`).
// Every message is checked in by id (deliveryLedger.ts); nothing here decides what was lost.
import { request, type Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { io as socketIo, type Socket } from 'socket.io-client';
import { createEventStreamParser } from './eventStreamParser.ts';
import { arrived, type DeliveryLedger, type DeliveryTally } from './deliveryLedger.ts';
import type { SubscriberTransport } from './fanoutOptions.ts';
import { wallClock } from './wallClock.ts';

export type ClientKind = SubscriberTransport | 'socketio';

export interface ClientTarget {
  /** http://host:port of Pushpin's proxy, the edge or the Socket.IO server. */
  baseUrl: string;
  /** Straight to Pushpin a client names the route itself (the edge does that for its clients). */
  headers: Record<string, string>;
  channel: string;
  /** Position before the first published message: every later message must arrive. */
  since: string;
  /** Keep-alive agent for long-polls (a browser reuses its connection for the next poll). */
  pollAgent: Agent;
  /** One-shot agent for streams. */
  streamAgent: Agent;
}

export interface ClientStats {
  /** Times the client came back after its connection ended or failed. */
  reconnects: number;
  /** Connection attempts answered with an error status or refused. */
  connectFailures: number;
  /** Continuity notices (the position could not be continued); none are expected. */
  resets: number;
}

export interface Subscriber {
  kind: ClientKind;
  ledger: DeliveryLedger;
  stats: ClientStats;
  /** Resolves when the subscription is in place (first connection only). */
  ready: Promise<void>;
  stop(): void;
}

/** How long a client waits before coming back after a failure (plus up to as much again, at random). */
const RETRY_MS = 1000;
const jitter = (): number => RETRY_MS + Math.random() * RETRY_MS;


interface Envelope {
  id?: string;
  data?: { sentAt?: number };
}

function deliver(ledger: DeliveryLedger, tally: DeliveryTally, envelope: Envelope): void {
  if (typeof envelope.id !== 'string' || typeof envelope.data?.sentAt !== 'number') return;
  arrived(ledger, tally, envelope.id, envelope.data.sentAt, wallClock());
}

function readyLatch(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export function startSubscriber(kind: ClientKind, target: ClientTarget, ledger: DeliveryLedger, tally: DeliveryTally): Subscriber {
  switch (kind) {
    case 'sse':
      return sseSubscriber(target, ledger, tally);
    case 'ws':
      return wsSubscriber(target, ledger, tally);
    case 'stream':
      return streamSubscriber(target, ledger, tally);
    case 'poll':
      return pollSubscriber(target, ledger, tally);
    case 'socketio':
      return socketIoSubscriber(target, ledger, tally);
  }
}

/** EventSource's default reconnection delay when the server sets no `retry:` (as the eventsource package and browsers). */
const SSE_DEFAULT_RETRY_MS = 3000;

function sseSubscriber(target: ClientTarget, ledger: DeliveryLedger, tally: DeliveryTally): Subscriber {
  const stats: ClientStats = { reconnects: 0, connectFailures: 0, resets: 0 };
  const ready = readyLatch();
  let current: ClientRequest | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let connectedBefore = false;
  // What an EventSource keeps across its own reconnects.
  let lastEventId = '';
  let retryMs = SSE_DEFAULT_RETRY_MS;
  /** One reconnection at a time, whatever ended the connection (end, error and close all fire). */
  const schedule = (ms: number): void => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect();
    }, ms);
  };
  const connect = (): void => {
    // The page opens the EventSource at the run's start position (?lastEventId=, which the origin
    // reads); EventSource itself then resumes with the Last-Event-ID header, which wins over the query.
    const url = `${target.baseUrl}/events/${target.channel}?lastEventId=${encodeURIComponent(target.since)}`;
    const headers: Record<string, string> = { ...target.headers, Accept: 'text/event-stream', 'Cache-Control': 'no-store' };
    if (lastEventId !== '') headers['Last-Event-ID'] = lastEventId;
    const req = request(url, { agent: target.streamAgent, headers }, (response) => {
      const type = String(response.headers['content-type'] ?? '');
      if (response.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        // EventSource fails the connection for good here; the page makes a new one (from its last id).
        response.resume();
        stats.connectFailures++;
        schedule(jitter());
        return;
      }
      if (connectedBefore) stats.reconnects++;
      connectedBefore = true;
      ready.resolve();
      const parser = createEventStreamParser((event) => {
        if (event.type === 'message') deliver(ledger, tally, JSON.parse(event.data) as Envelope);
        else if (event.type === 'reset') stats.resets++;
      }, lastEventId);
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        parser.feed(chunk);
        lastEventId = parser.lastEventId;
        retryMs = parser.retryMs ?? retryMs;
      });
      const reconnect = (): void => schedule(retryMs);
      response.on('end', reconnect);
      response.on('error', reconnect);
      response.on('close', reconnect);
    });
    current = req;
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', () => {
      // A network error before any answer: EventSource retries after its reconnection delay.
      if (answered || stopped) return;
      stats.connectFailures++;
      schedule(retryMs);
    });
    req.end();
  };
  connect();
  return {
    kind: 'sse',
    ledger,
    stats,
    ready: ready.promise,
    stop() {
      stopped = true;
      clearTimeout(retry);
      current?.destroy();
    },
  };
}

function wsSubscriber(target: ClientTarget, ledger: DeliveryLedger, tally: DeliveryTally): Subscriber {
  const stats: ClientStats = { reconnects: 0, connectFailures: 0, resets: 0 };
  const ready = readyLatch();
  let socket: WebSocket | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let everOpened = false;
  const connect = (): void => {
    const ws = new WebSocket(`${target.baseUrl.replace(/^http/, 'ws')}/ws`, { headers: target.headers, perMessageDeflate: false });
    socket = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      if (everOpened) stats.reconnects++;
      everOpened = true;
      ws.send(JSON.stringify({ type: 'subscribe', channel: target.channel, since: ledger.lastId ?? target.since }));
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Envelope & { type?: string; reset?: unknown; code?: string };
      if (frame.type === 'message') deliver(ledger, tally, frame);
      else if (frame.type === 'subscribed') {
        if (frame.reset) stats.resets++;
        ready.resolve();
      } else if (frame.type === 'error' && (frame.code === 'subscribe_busy' || frame.code === 'subscribe_failed')) {
        // The origin asks for the subscribe to be sent again (with our position).
        setTimeout(() => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: 'subscribe', channel: target.channel, since: ledger.lastId ?? target.since })), jitter());
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => {}); // 'close' follows
    ws.on('close', () => {
      if (stopped) return;
      if (!opened) stats.connectFailures++;
      retry = setTimeout(connect, jitter());
    });
  };
  connect();
  return {
    kind: 'ws',
    ledger,
    stats,
    ready: ready.promise,
    stop() {
      stopped = true;
      clearTimeout(retry);
      socket?.terminate();
    },
  };
}

/** Lines of an HTTP response body as they arrive. */
function onLines(response: IncomingMessage, line: (text: string) => void): void {
  let buffer = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (text.trim() !== '') line(text);
    }
  });
}

function streamSubscriber(target: ClientTarget, ledger: DeliveryLedger, tally: DeliveryTally): Subscriber {
  const stats: ClientStats = { reconnects: 0, connectFailures: 0, resets: 0 };
  const ready = readyLatch();
  let current: ClientRequest | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let connectedBefore = false;
  const again = (failed: boolean): void => {
    if (stopped) return;
    if (failed) stats.connectFailures++;
    retry = setTimeout(connect, jitter());
  };
  const connect = (): void => {
    const since = encodeURIComponent(ledger.lastId ?? target.since);
    const req = request(`${target.baseUrl}/stream/${target.channel}?since=${since}`, { agent: target.streamAgent, headers: target.headers }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        again(true);
        return;
      }
      if (connectedBefore) stats.reconnects++;
      connectedBefore = true;
      ready.resolve();
      onLines(response, (text) => {
        const line = JSON.parse(text) as Envelope & { type?: string };
        if (line.type === 'reset') stats.resets++;
        else if (line.type === undefined) deliver(ledger, tally, line);
      });
      response.on('end', () => again(false));
      response.on('error', () => {});
    });
    current = req;
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', () => {
      if (!answered) again(true);
    });
    req.end();
  };
  connect();
  return {
    kind: 'stream',
    ledger,
    stats,
    ready: ready.promise,
    stop() {
      stopped = true;
      clearTimeout(retry);
      current?.destroy();
    },
  };
}

function pollSubscriber(target: ClientTarget, ledger: DeliveryLedger, tally: DeliveryTally): Subscriber {
  const stats: ClientStats = { reconnects: 0, connectFailures: 0, resets: 0 };
  const ready = readyLatch();
  let current: ClientRequest | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let position = target.since;
  const again = (failed: boolean): void => {
    if (stopped) return;
    if (failed) {
      stats.connectFailures++;
      retry = setTimeout(poll, jitter());
    } else {
      poll();
    }
  };
  const poll = (): void => {
    const req = request(`${target.baseUrl}/poll/${target.channel}?since=${encodeURIComponent(position)}`, { agent: target.pollAgent, headers: target.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', () => {});
      response.on('end', () => {
        if (response.statusCode !== 200) return again(true);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: Envelope[]; lastId?: string; reset?: unknown };
        if (body.reset) stats.resets++;
        for (const message of body.messages) deliver(ledger, tally, message);
        // A live-only answer names no position: keep ours.
        if (typeof body.lastId === 'string') position = body.lastId;
        again(false);
      });
    });
    current = req;
    req.on('error', () => again(true));
    req.end();
    // A long-poll is in place once sent (the proxy holds it); a message published before the hold is
    // answered from the history, since the poll carries its position.
    ready.resolve();
  };
  poll();
  return {
    kind: 'poll',
    ledger,
    stats,
    ready: ready.promise,
    stop() {
      stopped = true;
      clearTimeout(retry);
      current?.destroy();
    },
  };
}

function socketIoSubscriber(target: ClientTarget, ledger: DeliveryLedger, tally: DeliveryTally): Subscriber {
  const stats: ClientStats = { reconnects: 0, connectFailures: 0, resets: 0 };
  const ready = readyLatch();
  // WebSocket from the start (no long-polling upgrade dance), one connection per client, reconnecting
  // by itself; on every (re)connect it subscribes from its last id, and the server replays what it missed.
  const socket: Socket = socketIo(target.baseUrl, { transports: ['websocket'], forceNew: true, reconnectionDelay: RETRY_MS, reconnectionDelayMax: 2 * RETRY_MS });
  let connectedBefore = false;
  socket.on('connect', () => {
    if (connectedBefore) stats.reconnects++;
    connectedBefore = true;
    socket.emit('subscribe', { channel: target.channel, since: ledger.lastId ?? target.since }, () => ready.resolve());
  });
  socket.on('connect_error', () => stats.connectFailures++);
  socket.on('message', (envelope: Envelope) => deliver(ledger, tally, envelope));
  return {
    kind: 'socketio',
    ledger,
    stats,
    ready: ready.promise,
    stop() {
      socket.disconnect();
    },
  };
}
