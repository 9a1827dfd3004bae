// An SSE or NDJSON stream read with fetch (Node, or wherever no EventSource is used): the body goes
// through the one line reader (protocol/lineReader.ts) into the framing's parser. Every chunk is a
// sign of life (keep-alives included); an answer that is not 200 with the transport's media type is
// reported with its status and the origin's message.
import {
  createEventStreamReader,
  createLineReader,
  parseNdjsonLine,
  parseSseEvent,
  STREAM_CONTENT_TYPES,
} from '../../protocol/index.ts';
import { pauseFor, type ConnectionHandle, type ConnectionSink } from './connection.ts';
import { describeError, type FetchLike, type ResponseLike } from './runtimeApis.ts';

export function openHttpStream(
  fetch: FetchLike,
  url: string,
  headers: Record<string, string>,
  kind: 'sse' | 'stream',
  sink: ConnectionSink,
): ConnectionHandle {
  const abort = new AbortController();
  let gone = false;
  let paused: { done: Promise<void>; resume(): void } | undefined;
  const end = (info: Parameters<ConnectionSink['ended']>[0]): void => {
    if (gone) return;
    gone = true;
    sink.ended(info);
  };
  void (async () => {
    let response: ResponseLike;
    try {
      response = await fetch(url, { headers: kind === 'sse' ? { Accept: STREAM_CONTENT_TYPES.sse, ...headers } : headers, signal: abort.signal });
    } catch (error) {
      return end({ refused: true, detail: describeError(error) });
    }
    if (response.status !== 200) return end({ status: response.status, ...(await readRefusal(response)) });
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith(STREAM_CONTENT_TYPES[kind]) || !response.body) {
      void response.body?.getReader().cancel().catch(() => {});
      return end({ refused: true, detail: `the answer is ${type || 'of no type'}, not ${STREAM_CONTENT_TYPES[kind]}` });
    }
    sink.opened();
    let items = 0;
    const parser =
      kind === 'sse'
        ? createEventStreamReader({
            event: (e) => {
              items++;
              sink.item(parseSseEvent(e.type, e.data));
            },
            lastEventId: (id) => {
              items++;
              sink.position(id);
            },
          })
        : createLineReader((line) => {
            const item = parseNdjsonLine(line);
            if (item.kind === 'keep-alive') return;
            items++;
            sink.item(item);
          });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        if (paused) await paused.done;
        const { done, value } = await reader.read();
        if (done || gone) break;
        const before = items;
        parser.push(decoder.decode(value, { stream: true }));
        if (items === before) sink.alive();
      }
      end({ detail: 'the stream ended' });
    } catch (error) {
      end({ detail: describeError(error) });
    }
  })();
  return {
    send() {},
    drop() {
      gone = true;
      paused?.resume();
      abort.abort();
    },
    stall(ms) {
      if (paused) return undefined;
      paused = pauseFor(ms, () => {
        paused = undefined;
      });
      return paused.resume;
    },
  };
}

/**
 * Why a stream an EventSource could not open was refused (it tells nothing itself): the same request
 * again with fetch, read up to its status (a held stream is left at once). Undefined: it would open.
 */
export async function whyRefused(fetch: FetchLike, url: string, headers: Record<string, string>): Promise<Parameters<ConnectionSink['ended']>[0] | undefined> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal }).catch(() => undefined);
  const why = response && response.status !== 200 ? { refused: true, status: response.status, ...(await readRefusal(response)) } : undefined;
  abort.abort();
  return why;
}

/** The origin's reason for a refusal (`{"message"}` in its JSON errors), else the status. */
export async function refusal(response: ResponseLike): Promise<string> {
  return (await readRefusal(response)).detail;
}

/**
 * A refusal: its reason, the channel it names (a stream of several is refused for one of them), and
 * the subscriptions per connection a 400 names (a stream that asked for more than the proxy gives).
 */
async function readRefusal(response: ResponseLike): Promise<{ detail: string; channel?: string; limit?: number }> {
  const text = await response.text().catch(() => '');
  try {
    // (Checked where they are used: a channel is matched against the stream's, a limit compared.)
    const { message, channel, limit } = JSON.parse(text) as { message?: unknown; channel?: string; limit?: number };
    if (typeof message === 'string') return { detail: `HTTP ${response.status}: ${message}`, channel, limit };
  } catch {
    // not JSON
  }
  return { detail: `HTTP ${response.status}` };
}
