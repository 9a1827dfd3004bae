// Sends a guest's request to a fastly.toml backend the way Viceroy does: the backend URL's scheme,
// host and port, its path as a prefix, Host from override_host (else the request's own Host), and
// the body streamed, not buffered.
import http from 'node:http';
import https from 'node:https';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { HostBody } from './hostBody.ts';
import { Status } from './hostcallAbi.ts';
import { HostSendFailure, sendErrorTagFor } from './sendErrorDetail.ts';
import type { HeaderList, RequestHead, ResponseHead } from './hostProtocol.ts';

export interface HostBackend {
  name: string;
  url: URL;
  overrideHost?: string;
}

export interface BackendResponse {
  head: ResponseHead;
  body: HostBody;
}

export class SendError extends Error {
  override name = 'SendError';
  constructor(
    message: string,
    readonly status: number,
    readonly errorTag: number,
  ) {
    super(message);
  }
}

/** Connection-level headers are the host's business, not the guest's. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length']);

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 256 }), https: new https.Agent({ keepAlive: true, maxSockets: 256 }) };

export function backendTarget(head: RequestHead, backend: HostBackend): { url: URL; host: string } {
  let pathAndQuery: string;
  let authority: string | undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(head.uri)) {
    const parsed = new URL(head.uri);
    pathAndQuery = `${parsed.pathname}${parsed.search}`;
    authority = parsed.host;
  } else {
    pathAndQuery = head.uri.startsWith('/') ? head.uri : `/${head.uri}`;
  }
  const hostHeader = head.headers.find(([n]) => n === 'host')?.[1];
  const host = backend.overrideHost ?? hostHeader ?? authority ?? backend.url.host;
  const prefix = backend.url.pathname.endsWith('/') ? backend.url.pathname : `${backend.url.pathname}/`;
  const url = new URL(`${prefix}${pathAndQuery.slice(1)}`, backend.url);
  return { url, host };
}

export function rawHeaderList(raw: string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}

const FIRST_BYTE_TIMEOUT_MS = 15_000;

/** `signal` aborts the request (and a response body still arriving): its client went away. */
export function sendToBackend(head: RequestHead, body: HostBody, backend: HostBackend, signal?: AbortSignal): Promise<BackendResponse> {
  const { url, host } = backendTarget(head, backend);
  const headers: string[] = [];
  for (const [name, value] of head.headers) {
    if (name === 'host' || HOP_BY_HOP.has(name)) continue;
    headers.push(name, value);
  }
  headers.push('host', host);
  const length = body.knownLength();
  const bodiless = (head.method === 'GET' || head.method === 'HEAD') && length === 0;
  if (length !== undefined && !bodiless) headers.push('content-length', String(length));
  else if (length === undefined) headers.push('transfer-encoding', 'chunked');

  const isHttps = url.protocol === 'https:';
  return new Promise<BackendResponse>((resolve, reject) => {
    const request = (isHttps ? https : http).request({
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port || (isHttps ? 443 : 80),
      method: head.method,
      path: `${url.pathname}${url.search}`,
      headers,
      agent: isHttps ? agents.https : agents.http,
      ...(isHttps ? { servername: host.replace(/:\d+$/, '') } : {}),
      ...(signal ? { signal } : {}),
    });
    const timer = setTimeout(
      () => request.destroy(Object.assign(new Error(`no response within the first-byte timeout (${FIRST_BYTE_TIMEOUT_MS / 1000} s)`), { code: HostSendFailure.FIRST_BYTE_TIMEOUT })),
      FIRST_BYTE_TIMEOUT_MS,
    );
    request.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      body.abandon();
      if (signal?.aborted) {
        const tag = sendErrorTagFor(HostSendFailure.CLIENT_GONE);
        reject(new SendError(`backend "${backend.name}" (${url.origin}): cancelled, the client went away`, Status.ERROR, tag));
        return;
      }
      reject(new SendError(`backend "${backend.name}" (${url.origin}): ${error.message}`, Status.ERROR, sendErrorTagFor(error.code)));
    });
    request.once('response', (response) => {
      clearTimeout(timer);
      let headersOut = rawHeaderList(response.rawHeaders);
      let stream: Readable = response;
      let declared = response.headers['content-length'] !== undefined ? Number(response.headers['content-length']) : undefined;
      const encoding = response.headers['content-encoding']?.toLowerCase();
      if (head.autoDecompress && (encoding === 'gzip' || encoding === 'x-gzip')) {
        stream = response.pipe(createGunzip());
        headersOut = headersOut.filter(([n]) => n !== 'content-encoding' && n !== 'content-length');
        declared = undefined;
      }
      const noBody = head.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304;
      resolve({
        head: {
          status: response.statusCode ?? 502,
          headers: headersOut,
          ...(response.socket?.remoteAddress ? { remoteAddress: response.socket.remoteAddress } : {}),
          ...(response.socket?.remotePort ? { remotePort: response.socket.remotePort } : {}),
        },
        body: noBody ? (response.resume(), HostBody.fromBytes(new Uint8Array())) : HostBody.fromStream(stream, declared),
      });
    });
    // A streamed body may take a while to produce its first byte: send the head now (an empty write,
    // not flushHeaders(), which writes header bytes 0x80-0xff as UTF-8; see downstreamSink.ts).
    if (length === undefined) request.write(Buffer.alloc(0));
    body.pipeTo(request).catch((error: Error) => request.destroy(error));
  });
}
