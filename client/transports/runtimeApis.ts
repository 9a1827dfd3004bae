// The runtime APIs the client uses, as structural types: a browser's, Node 22's or the `ws` package's
// WebSocket, an EventSource, and fetch all fit. Each is injected or taken from globalThis; this module
// names none of the DOM's or Node's own types, so the client type-checks and runs in both.

/** A WebSocket constructor (browsers', Node 22's, `ws`'s default export). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

/** What the client uses of a WebSocket instance. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: { message?: string }) => void) | null;
  send(text: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drops the connection without a closing handshake (what a network does). */
  terminate?(): void;
  /** `ws` only: stops and starts reading the socket (a slow consumer). */
  pause?(): void;
  resume?(): void;
  /** `ws` only: control frames (Pushpin's keep-alive is a pong). */
  on?(event: 'pong', listener: () => void): unknown;
}

export type EventSourceConstructor = new (url: string) => object;

export interface MessageEventLike {
  data: string;
}

export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: MessageEventLike) => void) | null;
  onerror: ((event: unknown) => void) | null;
  addEventListener(type: string, listener: (event: MessageEventLike) => void): void;
  close(): void;
}

export interface StreamReaderLike {
  read(): Promise<{ done: boolean; value?: Uint8Array | undefined }>;
  cancel(reason?: unknown): Promise<void>;
}

export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: { getReader(): StreamReaderLike } | null;
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export interface RequestInitLike {
  headers: Record<string, string>;
  signal?: AbortSignal;
  /** GET when absent (presence leases PUT and DELETE). */
  method?: string;
  body?: string;
}

export type FetchLike = (url: string, init: RequestInitLike) => Promise<ResponseLike>;

/** What the bindings need: the APIs in use and the headers every request carries. */
export interface RuntimeEnv {
  WebSocket: WebSocketConstructor | undefined;
  EventSource: EventSourceConstructor | undefined;
  fetch: FetchLike | undefined;
  headers: Record<string, string>;
  webSocketOptions: Record<string, unknown> | undefined;
}

/** A global of this runtime, if it has one (`WebSocket` in browsers and Node 22+, not in Node 20). */
export function runtimeGlobal<T>(name: string): T | undefined {
  return (globalThis as Record<string, unknown>)[name] as T | undefined;
}

/** What went wrong, in words, for a diagnostic. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
