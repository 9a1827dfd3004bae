// HTTP at the socket level, for what fetch cannot send or would wait on forever: oversized heads,
// bodies trickled a byte at a time, and whether the server answered, closed, or did neither.
import { connect, type Socket } from 'node:net';

export interface RawExchange {
  /** The status of the first response, when one arrived. */
  status?: number;
  /** Everything the server sent (latin1). */
  text: string;
  /** The server closed (or reset) the connection. */
  closed: boolean;
  /** Neither an answer nor a close within the wait. */
  timedOut: boolean;
  elapsedMs: number;
  /** When the server's first bytes arrived, if any did. */
  firstByteMs?: number;
}

function statusOf(text: string): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** The JSON body of a raw response (Content-Length or chunked), or undefined when it has none. */
export function jsonBodyOf(text: string): unknown {
  const split = text.indexOf('\r\n\r\n');
  if (split === -1) return undefined;
  const head = text.slice(0, split).toLowerCase();
  let body = text.slice(split + 4);
  if (/\r\ntransfer-encoding: chunked/.test(head)) {
    let decoded = '';
    for (let at = 0; ; ) {
      const lineEnd = body.indexOf('\r\n', at);
      const size = parseInt(body.slice(at, lineEnd), 16);
      if (!size) break;
      decoded += body.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
    body = decoded;
  }
  try {
    return JSON.parse(Buffer.from(body, 'latin1').toString('utf8'));
  } catch {
    return undefined;
  }
}

interface Exchange {
  socket: Socket;
  result: Promise<RawExchange>;
}

/** Opens a connection and records what comes back until the server closes it or `waitMs` passes. */
function open(url: string, waitMs: number, untilFirstResponse: boolean): Exchange {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  const socket = connect({ host: hostname, port: Number(port) });
  let text = '';
  let firstByteMs: number | undefined;
  const result = new Promise<RawExchange>((resolve) => {
    let settled = false;
    const settle = (closed: boolean, timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        ...(statusOf(text) !== undefined ? { status: statusOf(text)! } : {}),
        ...(firstByteMs !== undefined ? { firstByteMs } : {}),
        text,
        closed,
        timedOut,
        elapsedMs: Date.now() - started,
      });
    };
    const timer = setTimeout(() => settle(false, true), waitMs);
    socket.on('data', (chunk: Buffer) => {
      firstByteMs ??= Date.now() - started;
      text += chunk.toString('latin1');
      // A complete head and a body of the declared length: the answer is in.
      if (untilFirstResponse) {
        const split = text.indexOf('\r\n\r\n');
        const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split));
        if (split !== -1 && length && text.length >= split + 4 + Number(length[1])) settle(false, false);
        if (split !== -1 && /\r\ntransfer-encoding: chunked/i.test(text.slice(0, split)) && text.endsWith('0\r\n\r\n')) settle(false, false);
      }
    });
    socket.once('close', () => settle(true, false));
    socket.once('error', () => settle(true, false));
  });
  return { socket, result };
}

/** Sends `request` as is and waits for the answer, or for the server to close. */
export function rawRequest(url: string, request: string | Buffer, waitMs = 15_000): Promise<RawExchange> {
  const { socket, result } = open(url, waitMs, true);
  socket.once('connect', () => socket.write(request));
  return result;
}

/**
 * Sends `head` (request line and headers, ending in a blank line), then the body one byte every
 * `everyMs`, never finishing it: what a slowloris client does. Resolves when the server closes, or
 * after `waitMs`; with `untilAnswered`, as soon as a whole answer is in (for a server that answers but
 * leaves the connection open, where whether it closes is not the question).
 */
export function trickleBody(url: string, head: string, everyMs: number, waitMs: number, options: { untilAnswered?: boolean } = {}): Promise<RawExchange> {
  const { socket, result } = open(url, waitMs, options.untilAnswered ?? false);
  let ticker: NodeJS.Timeout | undefined;
  socket.once('connect', () => {
    socket.write(head);
    ticker = setInterval(() => {
      if (!socket.destroyed) socket.write('x');
    }, everyMs);
  });
  void result.finally(() => clearInterval(ticker));
  return result;
}

/** Sends the request line and then one header line every `everyMs`, never ending the head. */
export function trickleHead(url: string, requestLine: string, everyMs: number, waitMs: number): Promise<RawExchange> {
  const { socket, result } = open(url, waitMs, false);
  let ticker: NodeJS.Timeout | undefined;
  let n = 0;
  socket.once('connect', () => {
    socket.write(`${requestLine}\r\nHost: localhost\r\n`);
    ticker = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Slow-${n++}: ${n}\r\n`);
    }, everyMs);
  });
  void result.finally(() => clearInterval(ticker));
  return result;
}
