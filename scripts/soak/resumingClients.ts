// Clients that follow the README's recovery rules ("The client's rules"), cheap enough to
// run thousands in one process: SSE resumes with Last-Event-ID, NDJSON and long-poll with `since`, a
// WebSocket subscribes again with `since`. Each records the ids it was given (as numbers: ids stay
// below 2^53 for centuries) and counts repeats, resets and reconnects, for deliveryTally.ts. Used by
// the fault suite (test/faults) and `npm run soak`.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import WebSocket from 'ws';

export type TransportName = 'sse' | 'stream' | 'poll' | 'ws';
export const TRANSPORT_NAMES: readonly TransportName[] = ['sse', 'stream', 'poll', 'ws'];

export interface ClientTarget {
  /** The proxy or the edge, e.g. http://127.0.0.1:7677. */
  baseUrl: string;
  channel: string;
  /** Extra request headers (`pushpin-route: origin` when talking to Pushpin directly). */
  headers?: Record<string, string>;
  /** The position to start from ("0": everything retained). */
  since: string;
  /**
   * Reconnect when nothing at all arrived for this long (SSE and NDJSON carry a keep-alive every
   * 20 s; a WebSocket client pings every third of it). Pushpin 1.36 can leave a session open but
   * silent for good after it overflowed a slow consumer's buffer: only this notices. Default 45 s.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

export interface ResumingClient {
  readonly transport: TransportName;
  readonly channel: string;
  /** Ids received, once each. */
  readonly ids: Set<number>;
  /** Ids received again after they had arrived. */
  readonly duplicates: number;
  /** Notices that the position could not be continued (reset). */
  readonly resets: number;
  /** Connections (or failed polls, or subscribes) started again after a failure or a cut. */
  readonly reconnects: number;
  /** Connections it dropped because no message came while the channel went on (a stranded session). */
  readonly unstuck: number;
  /** Whether it is connected and subscribed right now (a poll: a request in flight). */
  readonly live: boolean;
  /** The position it would resume from. */
  readonly position: string;
  /** What happened to its connections (opens, subscribes, errors, closes), the last 50, for a failing case's report. */
  readonly history: readonly string[];
  /** Drops the connection as a network would; the client comes back by itself with its position. */
  cut(): void;
  /**
   * Stops reading from its connection (a slow consumer: the proxy's buffer for it fills) for `ms` at
   * most; the returned function resumes at once.
   */
  stall(ms: number): () => void;
  close(): void;
}

interface Counters {
  ids: Set<number>;
  duplicates: number;
  resets: number;
  reconnects: number;
  unstuck: number;
  history: string[];
}

function note(rec: Counters, what: string): void {
  rec.history.push(`${Date.now() % 100_000} ${what}`);
  if (rec.history.length > 50) rec.history.shift();
}

/** Waits before coming back: growing with consecutive failures, jittered so thousands do not return at once. */
function reconnectDelayMs(failures: number): number {
  const ceiling = Math.min(3000, 200 * 2 ** Math.min(failures, 4));
  return 100 + Math.floor(Math.random() * ceiling);
}

function record(counters: Counters, id: string | undefined): void {
  if (id === undefined || id === '') return;
  const n = Number(id);
  if (counters.ids.has(n)) counters.duplicates++;
  else counters.ids.add(n);
}

function counters(): Counters {
  return { ids: new Set(), duplicates: 0, resets: 0, reconnects: 0, unstuck: 0, history: [] };
}

/** Runs `connect` again after every end (with backoff after failures) until closed. */
function reconnecting(connect: (done: (failed: boolean) => void) => () => void) {
  let closed = false;
  let failures = 0;
  let abort: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  const c = { reconnects: 0 };
  const start = (): void => {
    if (closed) return;
    if (started) c.reconnects++;
    started = true;
    let finished = false;
    abort = connect((failed) => {
      if (finished) return;
      finished = true;
      abort = undefined;
      failures = failed ? failures + 1 : 0;
      // Not at once even after a clean end: a proxy that ends every stream must not make a hot loop.
      if (!closed) timer = setTimeout(start, failed ? reconnectDelayMs(failures) : 20 + Math.floor(Math.random() * 100));
    });
  };
  return {
    c,
    start,
    cut: () => abort?.(),
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      abort?.();
    },
  };
}

/** What a client reads from now, so that it can stop reading for a while (stall). */
interface Pausable {
  current?: { pause(): unknown; resume(): unknown };
}

function stallFor(reading: Pausable, ms: number): () => void {
  const target = reading.current;
  if (!target) return () => {};
  target.pause();
  const timer = setTimeout(() => target.resume(), ms);
  timer.unref();
  return () => {
    clearTimeout(timer);
    target.resume();
  };
}

/** A GET whose body is read as lines; `onLine` for each complete line, `done(failed)` once at the end. */
function getLines(
  url: URL,
  headers: Record<string, string>,
  onOpen: (response: IncomingMessage) => boolean,
  reading: Pausable,
  onLine: (line: string) => void,
  done: (failed: boolean) => void,
  idle?: { timeoutMs: number; onIdle: () => void },
): () => void {
  let req: ClientRequest | undefined;
  let received = false;
  let idleTimer: NodeJS.Timeout | undefined;
  const watch = (): void => {
    if (!idle) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idle.onIdle();
      req?.destroy();
    }, idle.timeoutMs);
  };
  const finish = (failed: boolean): void => {
    if (idleTimer) clearTimeout(idleTimer);
    done(failed);
  };
  watch();
  req = request(url, { headers, agent: false }, (response) => {
    reading.current = response;
    if (!onOpen(response)) {
      response.resume();
      response.once('end', () => finish(true));
      return;
    }
    response.setEncoding('utf8');
    let pending = '';
    response.on('data', (chunk: string) => {
      received = true;
      watch();
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        onLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    });
    // A held stream that ends was cut (a proxy restart, a cancelled session): come back.
    response.once('end', () => finish(!received));
    response.once('error', () => finish(true));
    response.once('aborted', () => finish(true));
  });
  req.once('error', () => finish(true));
  req.end();
  return () => {
    if (idleTimer) clearTimeout(idleTimer);
    req?.destroy();
    req = undefined;
  };
}

/**
 * A stream's keep-alives say the connection lives, not that its messages flow: Pushpin 1.36 can leave
 * a stream open, kept alive, with no message ever again (README: Known gaps). So when no message has
 * come for two thirds of the idle time, the client asks the history API for a message after its
 * position, and reconnects from that position when there is one. Only message-silent clients ask.
 */
function watchPosition(
  target: ClientTarget,
  rec: Counters,
  position: () => string,
  lastMessageAt: () => number,
  leave: () => void,
): () => void {
  const idleMs = target.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let checkedAt = Date.now();
  let checking = false;
  const timer = setInterval(() => {
    const now = Date.now();
    if (checking || now - Math.max(lastMessageAt(), checkedAt) <= (idleMs * 2) / 3) return;
    checking = true;
    checkedAt = now;
    const at = position();
    const url = new URL(`/api/channels/${encodeURIComponent(target.channel)}/messages?since=${at}&limit=1`, target.baseUrl);
    fetch(url, { headers: { ...target.headers } })
      .then(async (response) => (response.ok ? ((await response.json()) as { lastId?: string; messages?: unknown[] }) : undefined))
      .then((body) => {
        // Behind when a message after our position exists (not merely an id above it: an empty channel
        // is at its epoch base, above "0").
        if (body?.lastId === undefined || (body.messages?.length ?? 0) === 0 || position() !== at) return;
        note(rec, `no message while the channel went on to ${body.lastId}; reconnect from ${at}`);
        rec.unstuck++;
        leave();
      })
      .catch(() => {})
      .finally(() => {
        checking = false;
      });
  }, Math.max(50, Math.floor(idleMs / 6)));
  timer.unref();
  return () => clearInterval(timer);
}

export function sseClient(target: ClientTarget): ResumingClient {
  const reading: Pausable = {};
  const rec = counters();
  let lastEventId = target.since;
  let live = false;
  const loop = reconnecting((done) => {
    const url = new URL(`/events/${encodeURIComponent(target.channel)}`, target.baseUrl);
    let blockId: string | undefined;
    let event = 'message';
    let hasData = false;
    let first = true;
    note(rec, `connect Last-Event-ID ${lastEventId}`);
    let lastMessageAt = Date.now();
    let stopWatch = (): void => {};
    const abort = getLines(
      url,
      { ...target.headers, Accept: 'text/event-stream', 'Last-Event-ID': lastEventId },
      (response) => (live = response.statusCode === 200),
      reading,
      (line) => {
        if (line === '') {
          // Dispatch, as EventSource does: the id becomes the Last-Event-ID (also of an id-only block).
          const previous = lastEventId;
          if (blockId !== undefined) lastEventId = blockId;
          if (event === 'reset') rec.resets++;
          else if (hasData && blockId !== undefined) {
            if (first || Number(blockId) !== Number(previous) + 1) note(rec, `${first ? 'first' : 'jump to'} ${blockId} after ${previous}`);
            first = false;
            lastMessageAt = Date.now();
            record(rec, blockId);
          }
          blockId = undefined;
          event = 'message';
          hasData = false;
        } else if (line.startsWith('id:')) blockId = line.slice(3).trim();
        else if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) hasData = true;
      },
      (failed) => {
        live = false;
        stopWatch();
        done(failed);
      },
      { timeoutMs: target.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, onIdle: () => note(rec, 'silent too long, reconnect') },
    );
    stopWatch = watchPosition(target, rec, () => lastEventId, () => lastMessageAt, abort);
    return () => {
      stopWatch();
      abort();
    };
  });
  loop.start();
  return client('sse', target.channel, rec, loop, () => live, () => lastEventId, reading);
}

export function ndjsonClient(target: ClientTarget): ResumingClient {
  const reading: Pausable = {};
  const rec = counters();
  let since = target.since;
  let live = false;
  const loop = reconnecting((done) => {
    const url = new URL(`/stream/${encodeURIComponent(target.channel)}?since=${since}`, target.baseUrl);
    note(rec, `connect since ${since}`);
    let lastMessageAt = Date.now();
    let stopWatch = (): void => {};
    const abort = getLines(
      url,
      { ...target.headers },
      (response) => (live = response.statusCode === 200),
      reading,
      (line) => {
        if (!line.trim()) return;
        const parsed = JSON.parse(line) as { id?: string; type?: string; after?: string };
        if (parsed.type === 'reset') {
          rec.resets++;
          if (parsed.after !== undefined) since = parsed.after;
        } else if (parsed.id !== undefined) {
          lastMessageAt = Date.now();
          record(rec, parsed.id);
          since = parsed.id;
        }
      },
      (failed) => {
        live = false;
        stopWatch();
        done(failed);
      },
      { timeoutMs: target.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, onIdle: () => note(rec, 'silent too long, reconnect') },
    );
    stopWatch = watchPosition(target, rec, () => since, () => lastMessageAt, abort);
    return () => {
      stopWatch();
      abort();
    };
  });
  loop.start();
  return client('stream', target.channel, rec, loop, () => live, () => since, reading);
}

interface PollAnswer {
  messages?: Array<{ id?: string }>;
  lastId?: string;
  reset?: unknown;
}

export function pollClient(target: ClientTarget): ResumingClient {
  const reading: Pausable = {};
  const rec = counters();
  let since = target.since;
  let live = false;
  const loop = reconnecting((done) => {
    const url = new URL(`/poll/${encodeURIComponent(target.channel)}?since=${since}`, target.baseUrl);
    let body = '';
    let status = 0;
    live = true;
    return getLines(
      url,
      { ...target.headers },
      (response) => {
        status = response.statusCode ?? 0;
        return status === 200;
      },
      reading,
      (line) => (body += line),
      (failed) => {
        live = false;
        if (failed || status !== 200) {
          rec.reconnects++;
          return done(true);
        }
        let answer: PollAnswer;
        try {
          answer = JSON.parse(body) as PollAnswer;
        } catch {
          rec.reconnects++;
          return done(true);
        }
        if (answer.reset !== undefined) rec.resets++;
        for (const m of answer.messages ?? []) record(rec, m.id);
        // A live-only message has no lastId: keep the position.
        if (answer.lastId !== undefined) since = answer.lastId;
        done(false);
      },
    );
  });
  loop.start();
  // Every answer starts the next poll: only failed polls count as reconnects.
  return client('poll', target.channel, rec, loop, () => live, () => since, reading);
}

interface WsServerFrame {
  type?: string;
  id?: string;
  /** The position before this message on the channel: not ours means something was dropped. */
  prev?: string;
  /** On a pong: the last id of each channel subscribed. */
  lastIds?: Record<string, string>;
  code?: string;
  lastId?: string;
  reset?: unknown;
}

export function wsClient(target: ClientTarget): ResumingClient {
  const reading: Pausable = {};
  const rec = counters();
  let position = target.since;
  let live = false;
  const loop = reconnecting((done) => {
    const url = `${target.baseUrl.replace(/^http/, 'ws')}/ws`;
    const socket = new WebSocket(url, { headers: { ...target.headers }, perMessageDeflate: false });
    reading.current = socket;
    let opened = false;
    let resubscribe: NodeJS.Timeout | undefined;
    const subscribe = (): void => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'subscribe', channel: target.channel, since: position }));
    };
    const idleMs = target.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    let lastFrameAt = Date.now();
    let lastAppFrameAt = Date.now();
    // Pushpin's keep-alive (an unsolicited pong every 25 s, see origin/routes/wsRoutes.ts) is a sign that
    // the connection lives, not that its messages flow: Pushpin 1.36 can stop sending a connection its
    // published messages and go on answering. So the client pings the origin when no frame of the
    // origin's has come for two thirds of its idle time (its pong names the channel's last id: see the
    // pong case below), and reconnects when nothing at all has come for the whole of it. Only silent
    // clients ping: each ping is a WebSocket-over-HTTP request (through zurl on Pushpin 1.36), and
    // thousands of clients pinging every few seconds would be the load.
    let pingedAt = 0;
    const liveness = setInterval(() => {
      const now = Date.now();
      if (now - lastFrameAt > idleMs) {
        note(rec, 'silent too long, reconnect');
        socket.terminate();
      } else if (now - Math.max(lastAppFrameAt, pingedAt) > (idleMs * 2) / 3 && socket.readyState === WebSocket.OPEN) {
        pingedAt = now;
        socket.send('{"type":"ping"}');
      }
    }, Math.max(50, Math.floor(idleMs / 6)));
    socket.on('pong', () => {
      lastFrameAt = Date.now();
    });
    socket.on('open', () => {
      opened = true;
      note(rec, `open, subscribe since ${position}`);
      subscribe();
    });
    // Set when we leave this connection: frames already received still arrive after terminate(), and
    // recording them would move our position past what we missed.
    let abandoned = false;
    const leave = (why: string): void => {
      note(rec, `${why}; resubscribe`);
      rec.unstuck++;
      live = false;
      abandoned = true;
      socket.terminate();
    };
    socket.on('message', (data: WebSocket.RawData) => {
      if (abandoned) return;
      lastFrameAt = lastAppFrameAt = Date.now();
      const frame = JSON.parse(data.toString()) as WsServerFrame;
      if (frame.type === 'message') {
        if (frame.prev !== undefined && frame.id !== undefined && live && frame.prev !== position && Number(frame.id) > Number(position)) {
          // A gap (Pushpin drops messages a slow connection cannot take, silently): the README's rule is to
          // subscribe again from the last id. A new connection, so nothing of this one's backlog interleaves.
          leave(`gap: ${frame.id} follows ${frame.prev}, at ${position}`);
          return;
        }
        record(rec, frame.id);
        if (frame.id !== undefined) position = frame.id;
      } else if (frame.type === 'pong') {
        // We ping only when nothing has come for a while: a channel ahead of us then means Pushpin stopped
        // sending this connection its messages (it keeps answering pings), so subscribe again from our id.
        const channelLast = frame.lastIds?.[target.channel];
        if (live && channelLast !== undefined && Number(channelLast) > Number(position)) leave(`pong: ${target.channel} is at ${channelLast}, we at ${position}`);
      } else if (frame.type === 'subscribed') {
        live = true;
        note(rec, `subscribed lastId ${frame.lastId}${frame.reset ? ' reset' : ''}`);
        if (frame.reset !== undefined) rec.resets++;
        if (frame.lastId !== undefined) position = frame.lastId;
      } else if (frame.type === 'error' && (frame.code === 'subscribe_busy' || frame.code === 'subscribe_failed' || frame.code === 'history_unavailable')) {
        // The README: subscribe again, with since if you had a position.
        note(rec, `error ${frame.code}`);
        rec.reconnects++;
        resubscribe = setTimeout(subscribe, reconnectDelayMs(1));
      }
    });
    const end = (code?: number): void => {
      clearInterval(liveness);
      note(rec, `closed ${code ?? ''} at ${position}`);
      live = false;
      if (resubscribe) clearTimeout(resubscribe);
      done(!opened);
    };
    socket.once('close', (code: number) => end(code));
    socket.once('error', () => socket.terminate());
    return () => socket.terminate();
  });
  loop.start();
  return client('ws', target.channel, rec, loop, () => live, () => position, reading);
}

function client(
  transport: TransportName,
  channel: string,
  rec: Counters,
  loop: ReturnType<typeof reconnecting>,
  live: () => boolean,
  position: () => string,
  reading: Pausable,
): ResumingClient {
  return {
    transport,
    channel,
    ids: rec.ids,
    get duplicates() {
      return rec.duplicates;
    },
    get resets() {
      return rec.resets;
    },
    get unstuck() {
      return rec.unstuck;
    },
    get reconnects() {
      return rec.reconnects + (transport === 'poll' ? 0 : loop.c.reconnects);
    },
    get live() {
      return live();
    },
    get position() {
      return position();
    },
    history: rec.history,
    cut: loop.cut,
    stall: (ms) => stallFor(reading, ms),
    close: loop.close,
  };
}

export const CLIENT_FACTORIES: Record<TransportName, (target: ClientTarget) => ResumingClient> = {
  sse: sseClient,
  stream: ndjsonClient,
  poll: pollClient,
  ws: wsClient,
};
