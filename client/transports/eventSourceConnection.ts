// SSE through an EventSource (a browser's, or one given): messages, resets and the token-expired
// event. Its own reconnects are not used: on any error it is closed and the client reconnects from
// its position (with a fresh token when needed). It tells nothing about why it failed (a refusal is
// asked again with fetch where there is one), and hides the
// keep-alives (see keepAliveHidden in clientMachine.ts) and id-only blocks: the client opens streams
// of several channels with it, which name each channel's position in a position event.
import { parseSseEvent, SSE_EVENTS } from '../../protocol/index.ts';
import type { ConnectionHandle, ConnectionSink } from './connection.ts';
import type { EventSourceConstructor, EventSourceLike } from './runtimeApis.ts';

const CLOSED = 2;

export function openEventSource(
  EventSourceCtor: EventSourceConstructor,
  url: string,
  sink: ConnectionSink,
  /** Asked when it was refused: the origin's reason, as fetch sees it (a channel the token does not grant). */
  whyRefused?: () => Promise<Parameters<ConnectionSink['ended']>[0] | undefined>,
): ConnectionHandle {
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
    if (!refused) return sink.ended({ detail: 'the EventSource failed' });
    void (whyRefused?.() ?? Promise.resolve(undefined)).then((why) => sink.ended(why ?? { refused, detail: 'the EventSource was refused' }));
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
