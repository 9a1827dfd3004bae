// A real WebSocket client (the `ws` package) through the Pushpin proxy, recording JSON frames.
import WebSocket from 'ws';
import { createArrivals } from './arrivals.ts';

export interface WsFrame {
  type: string;
  [key: string]: unknown;
}

export interface WsRecorder {
  socket: WebSocket;
  frames: WsFrame[];
  opened: Promise<void>;
  /** Resolves with the close code and reason once the connection closed. */
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  /** Resolves with the first `count` frames matching `match` (all frames when omitted). */
  waitFor(count: number, match?: (frame: WsFrame) => boolean, timeoutMs?: number): Promise<WsFrame[]>;
  close(code?: number, reason?: string): void;
}

/** `autoPong: false`: the client answers no ping by itself (a test sends pongs with `socket.pong`). */
export function recordWs(proxyUrl: string, path = '/ws', options: { autoPong?: boolean } = {}): WsRecorder {
  const socket = new WebSocket(`${proxyUrl.replace(/^http/, 'ws')}${path}`, {
    headers: { 'pushpin-route': 'origin' },
    autoPong: options.autoPong ?? true,
  });
  const arrivals = createArrivals<WsFrame>('WebSocket frames');
  socket.on('message', (data, isBinary) => {
    arrivals.push(isBinary ? { type: '(binary)' } : (JSON.parse(data.toString()) as WsFrame));
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: HTTP ${res.statusCode}`)));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  opened.catch(() => {});
  return {
    socket,
    frames: arrivals.items,
    opened,
    closed,
    send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    close: (code, reason) => socket.close(code, reason),
    waitFor: (count, match, timeoutMs) => arrivals.waitFor(count, { match, timeoutMs }),
  };
}

/**
 * Pushpin applies a WebSocket subscription asynchronously (proxy -> handler) after relaying the
 * `subscribed` frame, so a test that needs live delivery at once publishes probe messages on the
 * channel until one arrives. Probe frames carry `data.probe`; filter them with `isProbe`.
 */
export async function untilLive(
  ws: WsRecorder,
  channel: string,
  publish: (body: unknown) => Promise<Response>,
  attempts = 50,
): Promise<void> {
  for (let n = 0; n < attempts; n++) {
    const response = await publish({ channel, data: { probe: n } });
    if (!response.ok) throw new Error(`probe publish failed: ${response.status} ${await response.text()}`);
    const arrived = await ws
      .waitFor(1, (f) => f.type === 'message' && f.channel === channel && isProbe(f), 300)
      .then(() => true)
      .catch(() => false);
    if (arrived) return;
  }
  throw new Error(`subscription to ${channel} never became live`);
}

export function isProbe(frame: WsFrame): boolean {
  const data = frame.data as { probe?: unknown } | undefined;
  return typeof data === 'object' && data !== null && 'probe' in data;
}

/**
 * A ping frame and its pong: the origin has handled every frame the client sent before it, the
 * subscribe's barrier pong among them (the client's WebSocket answers Pushpin's barrier ping at once,
 * and Pushpin hands a connection's events to the origin in order). Until then a subscribe is still in
 * progress at the origin: a test that stops the origin right after `untilLive` can have that pong
 * land at the next origin, which cannot finish a subscribe the first one began (a fresh-clone run:
 * the replacement answered `subscribe_failed` and dropped the private channel, so no expiry closed it).
 */
export async function untilOriginSettled(ws: WsRecorder, timeoutMs = 10_000): Promise<void> {
  const pongs = ws.frames.filter((f) => f.type === 'pong').length;
  ws.send({ type: 'ping' });
  await ws.waitFor(pongs + 1, (f) => f.type === 'pong', timeoutMs);
}
