// SSE through an EventSource (a browser's, or one given): messages, resets and the token-expired
// event. Its own reconnects are not used: on any error it is closed and the client reconnects from
// its position (with a fresh token when needed). It tells nothing about why it failed, and hides the
// keep-alives and the id-only position block (see locateFirst and keepAliveHidden in clientMachine.ts).
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
  for (const name of [SSE_EVENTS.reset, SSE_EVENTS.tokenExpired, SSE_EVENTS.presence]) source.addEventListener(name, (event) => sink.item(parseSseEvent(name, event.data)));
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
