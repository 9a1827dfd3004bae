// The seam between a transport binding and the state machine: a binding turns I/O into these calls
// (the driver makes them events of its connection) and is driven through its handle.
import type { PollBody, ServerFrame, StreamItem } from '../../protocol/index.ts';

export interface ConnectionSink {
  opened(): void;
  /** Something that is not a message arrived: bytes, a keep-alive, a WebSocket control frame. */
  alive(): void;
  frame(frame: ServerFrame): void;
  item(item: StreamItem): void;
  /** An SSE block with only an id. */
  position(id: string): void;
  polled(body: PollBody): void;
  /** Over (once): see the `ended` event of clientMachine.ts. */
  ended(info: { status?: number; refused?: boolean; code?: number; detail?: string; channel?: string; limit?: number }): void;
}

export interface ConnectionHandle {
  send(text: string): void;
  /** Closes it; a WebSocket of `ws` is terminated (no closing handshake), as a network would drop it. */
  drop(): void;
  /** Stops reading for `ms` at most; returns the function that resumes at once, or undefined when this connection cannot. */
  stall(ms: number): (() => void) | undefined;
}

/** A pause that ends after `ms` or when resumed, for the stall testing hook. */
export function pauseFor(ms: number, onEnd: () => void): { done: Promise<void>; resume: () => void } {
  let resume!: () => void;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(() => resume(), ms);
    resume = () => {
      clearTimeout(timer);
      onEnd();
      resolve();
    };
  });
  return { done, resume };
}
