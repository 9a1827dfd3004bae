// SSE through an EventSource (a browser's, or one given): messages, resets and the token-expired
// event. Its own reconnects are not used: on any error it is closed and the client reconnects from
// its position (with a fresh token when needed). It tells nothing about why it failed, and hides the
// keep-alives (see keepAliveHidden in clientMachine.ts) and id-only blocks: the client opens streams
// of several channels with it, which name each channel's position in a position event.
import { parseSseEvent, SSE_EVENTS } from '../../protocol/index.ts';
import type { ConnectionHandle, ConnectionSink } from './connection.ts';
import type { EventSourceConstructor, EventSourceLike } from './runtimeApis.ts';

const CLOSED = 2;

export function openEventSource(EventSourceCtor: EventSourceConstructor, url: string, sink: ConnectionSink): ConnectionHandle {
  const source = new EventSourceCtor(url) as EventSourceLike;
  let opened = false;
  let gone = false;
  source.onopen = () => {
    if (opened) return;
    opened = true;
    sink.opened();
  };
  source.onmessage = (event) => sink.item(parseSseEvent('message', event.data));
  // Every named event of the contract (reset, token-expired, presence, position).
  for (const name of Object.values(SSE_EVENTS)) source.addEventListener(name, (event) => sink.item(parseSseEvent(name, event.data)));
  source.onerror = () => {
    if (gone) return;
    gone = true;
    const refused = !opened && source.readyState === CLOSED;
    source.close();
    sink.ended(refused ? { refused, detail: 'the EventSource was refused' } : { detail: 'the EventSource failed' });
  };
  return {
    send() {},
    drop() {
      gone = true;
      source.close();
    },
    stall: () => undefined,
  };
}
