// One WebSocket to GET /ws, carrying any number of the client's subscriptions (JSON frames, see
// protocol/wsFrames.ts). It only turns socket events into sink calls.
import { parseServerFrame } from '../../protocol/index.ts';
import { pauseFor, type ConnectionHandle, type ConnectionSink } from './connection.ts';
import type { RuntimeEnv, WebSocketLike } from './runtimeApis.ts';

const OPEN = 1;

export function openWebSocket(env: RuntimeEnv, url: string, sink: ConnectionSink): ConnectionHandle {
  const Ctor = env.WebSocket!;
  const headers = Object.keys(env.headers).length > 0 ? { headers: env.headers } : undefined;
  const options = env.webSocketOptions || headers ? { ...env.webSocketOptions, ...headers } : undefined;
  // A second argument only where one was asked for: it is `ws`'s options (Node), a browser would take it for protocols.
  const socket = (options ? new (Ctor as unknown as new (u: string, o: object) => object)(url, options) : new Ctor(url)) as WebSocketLike;
  let opened = false;
  let gone = false;
  let lastError = '';
  let paused: { resume(): void } | undefined;
  socket.onopen = () => {
    opened = true;
    sink.opened();
  };
  socket.onmessage = (event) => {
    const frame = typeof event.data === 'string' ? parseServerFrame(event.data) : 'a binary frame';
    if (typeof frame === 'string') sink.alive();
    else sink.frame(frame);
  };
  socket.onerror = (event) => {
    lastError = event?.message ?? '';
  };
  socket.onclose = (event) => {
    if (gone) return;
    gone = true;
    const why = lastError || event.reason;
    sink.ended(opened ? { code: event.code, detail: `closed with ${event.code}${why ? `: ${why}` : ''}` } : { refused: true, detail: `the WebSocket did not open${why ? `: ${why}` : ''}` });
  };
  socket.on?.('pong', () => sink.alive());
  return {
    send(text) {
      if (socket.readyState === OPEN) socket.send(text);
    },
    drop() {
      gone = true;
      paused?.resume();
      if (socket.terminate) socket.terminate();
      else socket.close(1000);
    },
    stall(ms) {
      if (!socket.pause || !socket.resume || paused) return undefined;
      socket.pause();
      paused = pauseFor(ms, () => {
        paused = undefined;
        socket.resume!();
      });
      return paused.resume;
    },
  };
}
