// One long-poll (GET /poll/:channel?since=): in place once sent (the position is in it, so nothing
// published meanwhile is lost), over with its answer; the machine sends the next one.
import { parsePollBody } from '../../protocol/index.ts';
import { pauseFor, type ConnectionHandle, type ConnectionSink } from './connection.ts';
import { refusal } from './httpStreamConnection.ts';
import { describeError, type FetchLike } from './runtimeApis.ts';

export function openLongPoll(fetch: FetchLike, url: string, headers: Record<string, string>, sink: ConnectionSink): ConnectionHandle {
  const abort = new AbortController();
  let gone = false;
  let paused: { done: Promise<void>; resume(): void } | undefined;
  const end = (info: Parameters<ConnectionSink['ended']>[0]): void => {
    if (gone) return;
    gone = true;
    sink.ended(info);
  };
  void fetch(url, { headers, signal: abort.signal }).then(
    async (response) => {
      if (response.status !== 200) return end({ status: response.status, detail: await refusal(response) });
      const body = parsePollBody(await response.json());
      if (typeof body === 'string') return end({ detail: body });
      if (paused) await paused.done;
      if (gone) return;
      gone = true;
      sink.polled(body);
    },
    (error: unknown) => end({ refused: true, detail: describeError(error) }),
  ).catch((error: unknown) => end({ detail: describeError(error) }));
  sink.opened();
  return {
    send() {},
    drop() {
      gone = true;
      paused?.resume();
      abort.abort();
    },
    stall(ms) {
      if (paused) return undefined;
      // Not taking the answer holds the next poll back: what a slow consumer of a long-poll does.
      paused = pauseFor(ms, () => {
        paused = undefined;
      });
      return paused.resume;
    },
  };
}
