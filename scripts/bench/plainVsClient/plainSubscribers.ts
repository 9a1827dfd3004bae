// Plain subscribers: what a user writes from the browser's own APIs, with none of the client library's
// checks. Honest ones, not strawmen: each resumes from the last id it saw whenever its connection
// ends, as the contract documents (docs/protocol.md: The public contract), and nothing more.
// - SSE: a real EventSource (the `eventsource` package, the WHATWG algorithm): it reconnects by itself
//   with Last-Event-ID after `retry` (3 s); an error status ends it for good, as in a browser.
// - WebSocket: subscribes once on open with `since` (the last id it got), and again on a new socket
//   about a second after a close.
// - NDJSON: a fetch stream from `?since=`; when it ends or fails, again from the last id it got.
// - Long-poll: a fetch loop, `since` = each answer's `lastId`; after an error, again a second later.
// Every message goes to the application as it comes (plainRecord.ts counts what that was). Node's
// fetch is the browser's; `ws` stands in for the browser's WebSocket (Node 20 has none), and its
// pause() gives the slow-reader case what a busy page's socket does. They read the wire with the
// protocol's own line reader and frame parsers (protocol/): what they lack is the client's rules, not
// its parsing.
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import type { TransportName } from '../../../client/index.ts';
import { createLineReader, parseNdjsonLine, parsePollBody, parseServerFrame, parseSseEvent } from '../../../protocol/index.ts';
import { PlainRecord, retryDelayMs, StallGate, type PlainSubscriber } from './plainRecord.ts';

export interface PlainTarget {
  /** Pushpin's proxy (or the edge). */
  baseUrl: string;
  /** `{ 'pushpin-route': 'origin' }` straight to Pushpin. */
  headers: Record<string, string>;
  channel: string;
  /** Where to start ("0": everything retained). */
  since: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function startPlainSubscriber(transport: TransportName, target: PlainTarget): PlainSubscriber {
  switch (transport) {
    case 'sse':
      return plainEventSource(target);
    case 'websocket':
      return plainWebSocket(target);
    case 'stream':
      return plainNdjson(target);
    case 'poll':
      return plainLongPoll(target);
  }
}

/** A response whose body is read only while `gate` is open: a page too busy to read its stream. */
function gatedResponse(response: Response, gate: StallGate): Response {
  if (!response.body) return response;
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        await gate.wait();
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function plainEventSource(target: PlainTarget): PlainSubscriber {
  const record = new PlainRecord('sse', target.channel, target.since);
  const gate = new StallGate();
  // A page opens it at its saved position (?lastEventId=, which the origin reads); EventSource then
  // sends Last-Event-ID itself on every reconnect.
  const source = new EventSource(`${target.baseUrl}/events/${target.channel}?lastEventId=${encodeURIComponent(target.since)}`, {
    fetch: async (input, init) =>
      gatedResponse(await fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...target.headers } }), gate),
  });
  source.onopen = () => record.connected();
  source.onmessage = (event) => {
    const item = parseSseEvent('message', String(event.data));
    if (item.kind === 'message') record.handOn(item.message.id);
  };
  source.onerror = () => {
    const failed = !record.live;
    if (source.readyState === source.CLOSED) {
      record.gaveUp = true;
      record.disconnected(failed, 'EventSource closed for good (an error status or type)');
    } else record.disconnected(failed, 'EventSource reconnecting');
  };
  return record.driven({ stall: (ms) => gate.stall(ms), close: () => source.close() });
}

function plainWebSocket(target: PlainTarget): PlainSubscriber {
  const record = new PlainRecord('websocket', target.channel, target.since);
  const gate = new StallGate();
  let socket: WebSocket | undefined;
  let closed = false;
  const connect = (): void => {
    const ws = new WebSocket(`${target.baseUrl.replace(/^http/, 'ws')}/ws`, { headers: target.headers, perMessageDeflate: false });
    socket = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'subscribe', channel: target.channel, since: record.position }));
    ws.onmessage = (event) => {
      const frame = parseServerFrame(String(event.data));
      if (typeof frame === 'string') return;
      if (frame.type === 'message') record.handOn(frame.id);
      else if (frame.type === 'subscribed') record.connected();
    };
    ws.onerror = () => {}; // onclose follows
    ws.onclose = (event) => {
      record.disconnected(!record.live, `closed ${event.code}`);
      if (!closed) setTimeout(connect, retryDelayMs());
    };
  };
  connect();
  return record.driven({
    stall(ms) {
      const ws = socket;
      if (!ws || ws.readyState !== WebSocket.OPEN) return undefined;
      const open = gate.stall(ms);
      if (!open) return undefined;
      ws.pause();
      void gate.wait()!.then(() => ws.resume());
      return open;
    },
    close() {
      closed = true;
      socket?.terminate();
    },
  });
}

function plainNdjson(target: PlainTarget): PlainSubscriber {
  const record = new PlainRecord('stream', target.channel, target.since);
  const gate = new StallGate();
  const abort = new AbortController();
  void (async () => {
    while (!abort.signal.aborted) {
      let opened = false;
      try {
        const response = await fetch(`${target.baseUrl}/stream/${target.channel}?since=${encodeURIComponent(record.position ?? '')}`, {
          headers: target.headers,
          signal: abort.signal,
        });
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        opened = true;
        record.connected();
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        const lines = createLineReader((line) => {
          const item = parseNdjsonLine(line);
          if (item.kind === 'message') record.handOn(item.message.id); // other lines are notices and keep-alives
        });
        for (;;) {
          await gate.wait();
          const { done, value } = await reader.read();
          if (done) break;
          lines.push(decoder.decode(value, { stream: true }));
        }
        record.disconnected(false, 'stream ended');
      } catch (error) {
        record.disconnected(!opened, `stream failed: ${(error as Error).message}`);
      }
      if (!abort.signal.aborted) await sleep(retryDelayMs());
    }
  })();
  return record.driven({ stall: (ms) => gate.stall(ms), close: () => abort.abort() });
}

function plainLongPoll(target: PlainTarget): PlainSubscriber {
  const record = new PlainRecord('poll', target.channel, target.since);
  const gate = new StallGate();
  const abort = new AbortController();
  void (async () => {
    while (!abort.signal.aborted) {
      try {
        const answer = fetch(`${target.baseUrl}/poll/${target.channel}?since=${encodeURIComponent(record.position ?? '')}`, {
          headers: target.headers,
          signal: abort.signal,
        });
        record.connected(); // held by the proxy from here: its position is in the request
        const response = await answer;
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const body = parsePollBody(await response.json());
        if (typeof body === 'string') throw new Error(body);
        await gate.wait(); // a slow page takes the answer late, and polls again late
        for (const message of body.messages) record.handOn(message.id);
        if (body.lastId !== undefined) record.position = body.lastId;
      } catch (error) {
        record.disconnected(true, `poll failed: ${(error as Error).message}`);
        if (!abort.signal.aborted) await sleep(retryDelayMs());
      }
    }
  })();
  return record.driven({ stall: (ms) => gate.stall(ms), close: () => abort.abort() });
}
