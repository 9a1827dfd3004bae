// Where the answer to the client goes: a normal Node ServerResponse, or the raw socket of a request
// that asked for an Upgrade (Node hands those over before any response exists). Both take a status,
// headers and a streamed body; only the socket one can be turned into a WebSocket pipe.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import type { HeaderList } from './hostProtocol.ts';

/** Framing is the host's job (as Viceroy's automatic framing mode): guest values are dropped. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

export interface DownstreamSink {
  readonly request: IncomingMessage;
  /** Set once a status line went (or is about to go) out. */
  started: boolean;
  /** Writes the head; returns where the body goes. `length` undefined means streamed. */
  start(status: number, headers: HeaderList, length: number | undefined): Writable;
  /** A plain-text answer, used for host errors; ignored once a response started. */
  fail(status: number, message: string): void;
  /** Resolves when the connection closed (after the response, or before it was complete). */
  closed: Promise<void>;
  /** Resolves when the client went away before its response was complete. */
  departed: Promise<void>;
  /** The upgrade socket, when the client asked for one and nothing was written yet. */
  upgrade?: { socket: Duplex; head: Buffer };
  abort(): void;
}

export function responseSink(request: IncomingMessage, response: ServerResponse): DownstreamSink {
  const closed = new Promise<void>((resolve) => response.once('close', () => resolve()));
  const departed = closed.then(() => (response.writableFinished ? new Promise<void>(() => {}) : undefined));
  const sink: DownstreamSink = {
    request,
    started: false,
    closed,
    departed,
    start(status, headers, length) {
      const flat: string[] = [];
      // A HEAD response has no body but tells the length a GET would have: keep the given one.
      const isHead = request.method === 'HEAD';
      for (const [name, value] of headers) {
        if (!FRAMING.has(name) || (isHead && name === 'content-length')) flat.push(name, value);
      }
      const hasBody = !isHead && status !== 204 && status !== 304 && !(status >= 100 && status < 200);
      if (hasBody && length !== undefined) flat.push('content-length', String(length));
      // Throws (before anything is written) on a head Node refuses; the sink has not started then.
      response.writeHead(status, flat);
      sink.started = true;
      // Streamed responses (SSE) must reach the client as written, so the head goes out now. Not with
      // flushHeaders(): Node 20 writes the head it flushes as UTF-8, which turns each header byte
      // 0x80-0xff into two; an empty write sends it as latin1, byte for byte. A response without a
      // body sends its head when it ends.
      if (hasBody) response.write(Buffer.alloc(0));
      return response;
    },
    fail(status, message) {
      if (sink.started) {
        response.destroy();
        return;
      }
      const body = `${message}\n`;
      sink.start(status, [['content-type', 'text/plain; charset=utf-8']], Buffer.byteLength(body)).end(body);
    },
    abort() {
      response.destroy();
    },
  };
  return sink;
}

export function upgradeSink(request: IncomingMessage, socket: Duplex, head: Buffer): DownstreamSink {
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  const sink: DownstreamSink = {
    request,
    started: false,
    closed,
    // A raw socket has no "response finished": a close is a departure for a guest still running.
    departed: closed,
    upgrade: { socket, head },
    start(status, headers, length) {
      sink.started = true;
      delete sink.upgrade;
      let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
      for (const [name, value] of headers) if (!FRAMING.has(name)) text += `${name}: ${value}\r\n`;
      if (length !== undefined) text += `content-length: ${length}\r\n`;
      // No keep-alive on a connection Node gave up: the body ends with the connection.
      text += 'connection: close\r\n\r\n';
      // Header values are byte strings (one char per byte).
      socket.write(text, 'latin1');
      return socket;
    },
    fail(status, message) {
      if (sink.started) {
        socket.destroy();
        return;
      }
      const body = `${message}\n`;
      sink.start(status, [['content-type', 'text/plain; charset=utf-8']], Buffer.byteLength(body)).end(body);
    },
    abort() {
      socket.destroy();
    },
  };
  return sink;
}
