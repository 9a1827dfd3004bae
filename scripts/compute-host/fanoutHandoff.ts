// The Fanout handoff as Viceroy performs it (src/handoff.rs): the guest's request (method, path,
// headers) goes to the local Pushpin proxy with `pushpin-route: <backend>`, except that a fixed set of
// protected headers keep their original downstream values, Host becomes the proxy address, and the
// original body is sent. A 101 answer pipes both sockets (WebSocket); anything else streams back.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { HostBody } from './hostBody.ts';
import type { DownstreamSink } from './downstreamSink.ts';
import { rawHeaderList } from './backendClient.ts';
import type { HeaderList, RequestHead } from './hostProtocol.ts';

/** Headers the guest cannot change on a handoff (Viceroy's PROTECTED_REQ_HEADERS). */
export const PROTECTED_HANDOFF_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'sec-websocket-version',
  'sec-websocket-key',
  'upgrade',
  'pushpin-route',
  'content-length',
  'content-range',
  'expect',
  'fastly-ff',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'cdn-loop',
]);

export const NO_PUSHPIN_MESSAGE = 'Pushpin handoff signaled, but Pushpin mode not enabled.';

export function handoffHeaders(original: HeaderList, guest: HeaderList, proxyHost: string, backend: string): HeaderList {
  const headers: HeaderList = [
    ...original.filter(([name]) => PROTECTED_HANDOFF_HEADERS.has(name)),
    ...guest.filter(([name]) => !PROTECTED_HANDOFF_HEADERS.has(name)),
  ].filter(([name]) => name !== 'host' && name !== 'pushpin-route');
  return [['host', proxyHost], ...headers, ['pushpin-route', backend]];
}

function pathAndQuery(uri: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    const parsed = new URL(uri);
    return `${parsed.pathname}${parsed.search}`;
  }
  return uri.startsWith('/') ? uri : `/${uri}`;
}

function flatten(headers: HeaderList): string[] {
  return headers.flatMap(([name, value]) => [name, value]);
}

function pipeSockets(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const closeBoth = (): void => {
    a.destroy();
    b.destroy();
  };
  a.once('close', closeBoth);
  b.once('close', closeBoth);
  a.on('error', closeBoth);
  b.on('error', closeBoth);
}

export interface HandoffInput {
  pushpinPort: number | undefined;
  backend: string;
  guestHead: RequestHead;
  originalHeaders: HeaderList;
  originalBody: HostBody;
  sink: DownstreamSink;
  log: (line: string) => void;
  /** Told the status the client gets (for the request log). */
  onStatus?: (status: number) => void;
}

export function performHandoff(input: HandoffInput): void {
  const { sink, log } = input;
  const status = (code: number): void => input.onStatus?.(code);
  if (input.pushpinPort === undefined) {
    log(`handoff to "${input.backend}": ${NO_PUSHPIN_MESSAGE}`);
    status(500);
    sink.fail(500, NO_PUSHPIN_MESSAGE);
    return;
  }
  const proxyHost = `127.0.0.1:${input.pushpinPort}`;
  const headers = handoffHeaders(input.originalHeaders, input.guestHead.headers, proxyHost, input.backend);
  const upgrade = sink.upgrade;
  sink.started = true;
  const request = http.request({
    host: '127.0.0.1',
    port: input.pushpinPort,
    method: input.guestHead.method,
    path: pathAndQuery(input.guestHead.uri),
    headers: flatten(headers),
    agent: false,
    setHost: false,
  } as http.RequestOptions);
  void sink.closed.then(() => {
    if (!upgrade) request.destroy();
  });
  request.once('error', (error) => {
    log(`handoff to Pushpin (${proxyHost}) failed: ${error.message}`);
    sink.started = false;
    status(500);
    sink.fail(500, `Could not connect to handoff target: ${error.message}.`);
  });
  request.once('upgrade', (response, proxySocket, proxyHead) => {
    if (!upgrade) {
      proxySocket.destroy();
      sink.abort();
      return;
    }
    status(response.statusCode ?? 101);
    let text = `HTTP/1.1 ${response.statusCode} ${response.statusMessage}\r\n`;
    const raw = response.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
    // Node reads header values as byte strings: write them back the same way.
    upgrade.socket.write(`${text}\r\n`, 'latin1');
    if (proxyHead.length > 0) upgrade.socket.write(proxyHead);
    if (upgrade.head.length > 0) proxySocket.write(upgrade.head);
    pipeSockets(upgrade.socket, proxySocket);
  });
  request.once('response', (response) => {
    status(response.statusCode ?? 502);
    const declared = response.headers['content-length'];
    const out = sink.start(response.statusCode ?? 502, rawHeaderList(response.rawHeaders), declared !== undefined ? Number(declared) : undefined);
    response.pipe(out);
    response.once('error', () => sink.abort());
    response.once('aborted', () => sink.abort());
  });
  // The original body: what the guest read of it (kept for this), then the rest as it arrives.
  const consumed = input.originalBody.consumedBytes();
  if (consumed.length > 0) request.write(consumed);
  if (input.originalBody.consumedCopyTruncated) log('handoff: the guest read more than 1 MiB of the body; the copy sent is truncated');
  input.originalBody.pipeTo(request).catch(() => request.destroy());
}
