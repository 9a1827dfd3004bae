// The Fastly hostcalls, guest side. Request and response heads, config stores, dictionaries, backends,
// geo and logging are answered here in the worker; bodies, sends, waits and the downstream response
// go to the main thread through `link.call` (blocking only where the guest needs an answer).
import { writeSync } from 'node:fs';
import { isIP } from 'node:net';
import { BackendHealth, CacheOverrideFlag, HttpVersion, INVALID_HANDLE, SEND_ERROR_DETAIL_MASK_OFFSET, SendErrorTag, Status } from './hostcallAbi.ts';
import type { GuestMemory } from './guestMemory.ts';
import type { DownstreamInfo, GuestConfig, HeaderList, HostReply, RequestHead, ResponseHead, WorkerCall } from './hostProtocol.ts';

export interface HostLink {
  call(call: WorkerCall): HostReply;
}

/** Handles of one request: a fresh instance per request, so a fresh table. */
export class GuestSession {
  private nextHandle = 1;
  readonly requests = new Map<number, RequestHead>();
  readonly responses = new Map<number, ResponseHead>();
  readonly bodies = new Set<number>();
  readonly pendings = new Set<number>();
  /** Bytes written to a streaming body since the host last confirmed it drained. */
  readonly streamingUnacked = new Map<number, number>();
  readonly dictionaries = new Map<number, Record<string, string>>();
  readonly logEndpoints = new Map<number, string>();
  readonly downstreamRequest: number;
  responded = false;

  constructor(readonly downstream: DownstreamInfo) {
    this.downstreamRequest = this.allocate();
    this.requests.set(this.downstreamRequest, structuredClone(downstream.head));
    this.bodies.add(downstream.bodyHandle);
    this.nextHandle = Math.max(this.nextHandle, downstream.bodyHandle + 1);
  }

  allocate(): number {
    return this.nextHandle++;
  }
}

const STREAMING_HIGH_WATER = 512 * 1024;

function headerValues(list: HeaderList, name: string): string[] {
  return list.filter(([n]) => n === name).map(([, v]) => v);
}

function headerNames(list: HeaderList): string[] {
  return [...new Set(list.map(([n]) => n))];
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** Any byte but controls (tab allowed) and DEL, as Viceroy's HeaderValue and Node's http accept. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function ipBytes(address: string): Uint8Array {
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  if (isIP(plain) === 4) return Uint8Array.from(plain.split('.').map(Number));
  if (isIP(plain) === 6) {
    const [head = '', tail = ''] = plain.split('::');
    const parts = (s: string): number[] => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
    const left = parts(head);
    const right = parts(tail);
    const groups = plain.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill(0), ...right] : left;
    const out = new Uint8Array(16);
    groups.forEach((g: number, i: number) => {
      out[i * 2] = g >> 8;
      out[i * 2 + 1] = g & 0xff;
    });
    return out;
  }
  return Uint8Array.from([127, 0, 0, 1]);
}

/** What a local POP reports for any address, as Viceroy's default geolocation does. */
const LOCAL_GEO = {
  as_name: 'Fastly, Inc',
  as_number: 54113,
  area_code: 415,
  city: 'San Francisco',
  conn_speed: 'broadband',
  conn_type: 'wired',
  continent: 'NA',
  country_code: 'US',
  country_code3: 'USA',
  country_name: 'United States of America',
  latitude: 37.77869,
  longitude: -122.39557,
  metro_code: 0,
  postal_code: '94107',
  proxy_description: '?',
  proxy_type: '?',
  region: 'CA',
  utc_offset: -700,
};

export interface GuestRuntime {
  mem: GuestMemory;
  config: Omit<GuestConfig, 'wasmModule' | 'shared' | 'replyBuffer' | 'pristineMemory'>;
  link: HostLink;
  /** The client of the current request went away (the main thread says so through shared memory). */
  clientGone(): boolean;
  session(): GuestSession;
}

type HostFn = (...args: number[]) => number;

export function createFastlyImports(rt: GuestRuntime): Record<string, Record<string, HostFn>> {
  const { mem } = rt;
  const backends = new Map(rt.config.backends.map((b) => [b.name, b]));
  const s = (): GuestSession => rt.session();

  const headOf = (h: number): { headers: HeaderList } | undefined => s().requests.get(h) ?? s().responses.get(h);
  const req = (h: number): RequestHead | undefined => s().requests.get(h);
  const resp = (h: number): ResponseHead | undefined => s().responses.get(h);
  const isBody = (h: number): boolean => s().bodies.has(h);

  const headerNamesGet = (lookup: (h: number) => { headers: HeaderList } | undefined): HostFn =>
    (h, buf, bufLen, cursor, endOut, nwOut) => {
      const head = lookup(h);
      if (!head) return Status.BADF;
      return mem.writeValues(headerNames(head.headers), buf, bufLen, cursor, endOut, nwOut);
    };
  const headerValuesGet = (lookup: (h: number) => { headers: HeaderList } | undefined): HostFn =>
    (h, namePtr, nameLen, buf, bufLen, cursor, endOut, nwOut) => {
      const head = lookup(h);
      if (!head) return Status.BADF;
      const name = mem.string(namePtr, nameLen).toLowerCase();
      return mem.writeValues(headerValues(head.headers, name), buf, bufLen, cursor, endOut, nwOut, 'latin1');
    };
  const headerWrite = (lookup: (h: number) => { headers: HeaderList } | undefined, mode: 'insert' | 'append'): HostFn =>
    (h, namePtr, nameLen, valuePtr, valueLen) => {
      const head = lookup(h);
      if (!head) return Status.BADF;
      const name = mem.string(namePtr, nameLen).toLowerCase();
      const value = mem.byteString(valuePtr, valueLen);
      if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) return Status.INVAL;
      if (mode === 'insert') head.headers = head.headers.filter(([n]) => n !== name);
      head.headers.push([name, value]);
      return Status.OK;
    };
  const headerRemove = (lookup: (h: number) => { headers: HeaderList } | undefined): HostFn => (h, namePtr, nameLen) => {
    const head = lookup(h);
    if (!head) return Status.BADF;
    const name = mem.string(namePtr, nameLen).toLowerCase();
    if (!head.headers.some(([n]) => n === name)) return Status.INVAL;
    head.headers = head.headers.filter(([n]) => n !== name);
    return Status.OK;
  };

  const noValue: HostFn = () => Status.NONE;

  const markStreaming = (body: number): void => {
    s().streamingUnacked.set(body, 0);
  };

  const send = (h: number, body: number, backendPtr: number, backendLen: number, streaming: boolean, cache: boolean, pendingOut: number): number => {
    const head = req(h);
    if (!head || !isBody(body)) return Status.BADF;
    const backend = mem.string(backendPtr, backendLen);
    if (!backends.has(backend)) {
      process.stderr.write(`compute-host: send to unknown backend "${backend}" (known: ${[...backends.keys()].join(', ') || 'none'})\n`);
      return Status.INVAL;
    }
    const session = s();
    const pending = session.allocate();
    session.requests.delete(h);
    if (streaming) markStreaming(body);
    else session.bodies.delete(body);
    session.pendings.add(pending);
    rt.link.call({ op: 'send', pending, head, body, backend, streaming, cache });
    mem.setU32(pendingOut, pending);
    return Status.OK;
  };

  const backendString = (pick: (b: { url: string; overrideHost?: string }) => string | undefined): HostFn =>
    (namePtr, nameLen, buf, bufLen, nwOut) => {
      const backend = backends.get(mem.string(namePtr, nameLen));
      if (!backend) return Status.INVAL;
      const value = pick(backend);
      if (value === undefined) return Status.NONE;
      return mem.writeOut(buf, bufLen, nwOut, value);
    };
  const backendNumber = (pick: (b: { url: string }) => number): HostFn => (namePtr, nameLen, out) => {
    const backend = backends.get(mem.string(namePtr, nameLen));
    if (!backend) return Status.INVAL;
    mem.setU32(out, pick(backend));
    return Status.OK;
  };

  const openStore = (stores: Record<string, Record<string, string>>): HostFn => (namePtr, nameLen, out) => {
    const store = stores[mem.string(namePtr, nameLen)];
    if (!store) return Status.BADF;
    const handle = s().allocate();
    s().dictionaries.set(handle, store);
    mem.setU32(out, handle);
    return Status.OK;
  };
  const storeGet: HostFn = (h, keyPtr, keyLen, buf, bufLen, nwOut) => {
    const store = s().dictionaries.get(h);
    if (!store) return Status.BADF;
    const value = store[mem.string(keyPtr, keyLen)];
    if (value === undefined) return Status.NONE;
    return mem.writeOut(buf, bufLen, nwOut, value);
  };

  const downstreamIp = (which: 'client' | 'server'): HostFn => (_h, out, nwOut) => {
    const d = s().downstream;
    const bytes = ipBytes(which === 'client' ? d.clientAddress : d.serverAddress);
    mem.copyIn(out, bytes);
    mem.setU32(nwOut, bytes.length);
    return Status.OK;
  };

  return {
    fastly_http_req: {
      body_downstream_get: (reqOut, bodyOut) => {
        const session = s();
        mem.setU32(reqOut, session.downstreamRequest);
        mem.setU32(bodyOut, session.downstream.bodyHandle);
        return Status.OK;
      },
      new: (out) => {
        const handle = s().allocate();
        s().requests.set(handle, { method: 'GET', uri: '/', headers: [] });
        mem.setU32(out, handle);
        return Status.OK;
      },
      method_get: (h, buf, bufLen, nwOut) => {
        const head = req(h);
        return head ? mem.writeOut(buf, bufLen, nwOut, head.method) : Status.BADF;
      },
      method_set: (h, ptr, len) => {
        const head = req(h);
        if (!head) return Status.BADF;
        const method = mem.string(ptr, len);
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) return Status.HTTPINVALID;
        head.method = method;
        return Status.OK;
      },
      uri_get: (h, buf, bufLen, nwOut) => {
        const head = req(h);
        return head ? mem.writeOut(buf, bufLen, nwOut, head.uri) : Status.BADF;
      },
      uri_set: (h, ptr, len) => {
        const head = req(h);
        if (!head) return Status.BADF;
        const uri = mem.string(ptr, len);
        if (uri === '' || /[\s]/.test(uri)) return Status.HTTPINVALID;
        head.uri = uri;
        return Status.OK;
      },
      version_get: (h, out) => {
        if (!req(h)) return Status.BADF;
        mem.setU32(out, HttpVersion.HTTP_11);
        return Status.OK;
      },
      header_names_get: headerNamesGet(req),
      header_values_get: headerValuesGet(req),
      header_insert: headerWrite(req, 'insert'),
      header_append: headerWrite(req, 'append'),
      header_remove: headerRemove(req),
      cache_override_v2_set: (h, tag, ttl, swr, skPtr, skLen) => {
        const head = req(h);
        if (!head) return Status.BADF;
        head.cacheOverride = {
          pass: (tag & CacheOverrideFlag.PASS) !== 0,
          ...((tag & CacheOverrideFlag.TTL) !== 0 ? { ttl: ttl >>> 0 } : {}),
          ...((tag & CacheOverrideFlag.SWR) !== 0 ? { swr: swr >>> 0 } : {}),
          ...(skLen > 0 ? { surrogateKey: mem.string(skPtr, skLen) } : {}),
        };
        return Status.OK;
      },
      framing_headers_mode_set: (h) => (req(h) ? Status.OK : Status.BADF),
      auto_decompress_response_set: (h, encodings) => {
        const head = req(h);
        if (!head) return Status.BADF;
        head.autoDecompress = (encodings & 1) !== 0;
        return Status.OK;
      },
      send_async: (h, body, bPtr, bLen, out) => send(h, body, bPtr, bLen, false, true, out),
      send_async_streaming: (h, body, bPtr, bLen, out) => send(h, body, bPtr, bLen, true, true, out),
      // Like send_async{,_streaming} but never cached, as on Fastly.
      send_async_v2: (h, body, bPtr, bLen, streaming, out) => send(h, body, bPtr, bLen, streaming === 1, false, out),
      pending_req_wait_v2: (pending, detailPtr, respOut, bodyOut) => {
        const session = s();
        if (!session.pendings.has(pending)) return Status.BADF;
        session.pendings.delete(pending);
        const bodyHandle = session.allocate();
        const reply = rt.link.call({ op: 'pendingWait', pending, bodyHandle });
        if (detailPtr) {
          mem.setU32(detailPtr, reply.status === Status.OK ? SendErrorTag.OK : (reply.errorTag ?? SendErrorTag.INTERNAL_ERROR));
          // The mask says which optional fields the host filled in: none of them.
          if (reply.status !== Status.OK) mem.setU32(detailPtr + SEND_ERROR_DETAIL_MASK_OFFSET, 0);
        }
        if (reply.status !== Status.OK || !reply.head) {
          mem.setU32(respOut, INVALID_HANDLE);
          mem.setU32(bodyOut, INVALID_HANDLE);
          return reply.status === Status.OK ? Status.ERROR : reply.status;
        }
        const respHandle = session.allocate();
        session.responses.set(respHandle, reply.head);
        session.bodies.add(bodyHandle);
        mem.setU32(respOut, respHandle);
        mem.setU32(bodyOut, bodyHandle);
        return Status.OK;
      },
      redirect_to_grip_proxy_v2: (h, bPtr, bLen) => {
        const head = req(h);
        if (!head) return Status.BADF;
        const session = s();
        if (session.responded) return Status.ERROR;
        session.responded = true;
        const reply = rt.link.call({ op: 'handoff', head, backend: mem.string(bPtr, bLen) });
        return reply.status;
      },
    },
    fastly_http_body: {
      new: (out) => {
        const handle = s().allocate();
        s().bodies.add(handle);
        rt.link.call({ op: 'bodyNew', handle });
        mem.setU32(out, handle);
        return Status.OK;
      },
      read: (h, buf, bufLen, nreadOut) => {
        if (!isBody(h)) return Status.BADF;
        const reply = rt.link.call({ op: 'bodyRead', handle: h, max: bufLen >>> 0 });
        if (reply.status !== Status.OK) return reply.status;
        const data = reply.data ?? new Uint8Array();
        mem.copyIn(buf, data);
        mem.setU32(nreadOut, data.length);
        return Status.OK;
      },
      write: (h, buf, bufLen, end, nwOut) => {
        const session = s();
        if (!session.bodies.has(h)) return Status.BADF;
        const unacked = session.streamingUnacked.get(h);
        // As in Viceroy, a write to a streaming body fails once its reader (the client) is gone.
        if (unacked !== undefined && rt.clientGone()) return Status.ERROR;
        const data = mem.bytes(buf, bufLen);
        rt.link.call({ op: 'bodyWrite', handle: h, data, front: end === 1 });
        if (unacked !== undefined) {
          // Backpressure: a slow client or backend must not let a streaming guest fill memory.
          if (unacked + data.length > STREAMING_HIGH_WATER) {
            const reply = rt.link.call({ op: 'bodyDrain', handle: h });
            if (reply.status !== Status.OK) return reply.status;
            session.streamingUnacked.set(h, 0);
          } else session.streamingUnacked.set(h, unacked + data.length);
        }
        mem.setU32(nwOut, data.length);
        return Status.OK;
      },
      append: (dest, src) => {
        const session = s();
        if (!session.bodies.has(dest) || !session.bodies.has(src)) return Status.BADF;
        session.bodies.delete(src);
        rt.link.call({ op: 'bodyAppend', dest, src });
        return Status.OK;
      },
      close: (h) => {
        const session = s();
        if (!session.bodies.delete(h)) return Status.BADF;
        session.streamingUnacked.delete(h);
        rt.link.call({ op: 'bodyClose', handle: h });
        return Status.OK;
      },
      abandon: (h) => {
        const session = s();
        if (!session.bodies.delete(h)) return Status.BADF;
        session.streamingUnacked.delete(h);
        rt.link.call({ op: 'bodyAbandon', handle: h });
        return Status.OK;
      },
      known_length: (h, out) => {
        if (!isBody(h)) return Status.BADF;
        const reply = rt.link.call({ op: 'bodyKnownLength', handle: h });
        if (reply.status !== Status.OK) return reply.status;
        mem.setU64(out, BigInt(reply.value ?? 0));
        return Status.OK;
      },
    },
    fastly_http_resp: {
      new: (out) => {
        const handle = s().allocate();
        s().responses.set(handle, { status: 200, headers: [] });
        mem.setU32(out, handle);
        return Status.OK;
      },
      status_get: (h, out) => {
        const head = resp(h);
        if (!head) return Status.BADF;
        mem.setU16(out, head.status);
        return Status.OK;
      },
      status_set: (h, status) => {
        const head = resp(h);
        if (!head) return Status.BADF;
        if (status < 100 || status > 999) return Status.INVAL;
        head.status = status;
        return Status.OK;
      },
      version_get: (h, out) => {
        if (!resp(h)) return Status.BADF;
        mem.setU32(out, HttpVersion.HTTP_11);
        return Status.OK;
      },
      framing_headers_mode_set: (h) => (resp(h) ? Status.OK : Status.BADF),
      header_names_get: headerNamesGet(resp),
      header_values_get: headerValuesGet(resp),
      header_insert: headerWrite(resp, 'insert'),
      header_append: headerWrite(resp, 'append'),
      header_remove: headerRemove(resp),
      get_addr_dest_ip: (h, out, nwOut) => {
        const head = resp(h);
        if (!head) return Status.BADF;
        if (!head.remoteAddress) return Status.NONE;
        const bytes = ipBytes(head.remoteAddress);
        mem.copyIn(out, bytes);
        mem.setU32(nwOut, bytes.length);
        return Status.OK;
      },
      get_addr_dest_port: (h, out) => {
        const head = resp(h);
        if (!head) return Status.BADF;
        if (!head.remotePort) return Status.NONE;
        mem.setU16(out, head.remotePort);
        return Status.OK;
      },
      send_downstream: (h, body, streaming) => {
        const session = s();
        const head = resp(h);
        if (!head || !session.bodies.has(body)) return Status.BADF;
        if (session.responded) return Status.ERROR;
        session.responded = true;
        session.responses.delete(h);
        if (streaming === 1) markStreaming(body);
        else session.bodies.delete(body);
        return rt.link.call({ op: 'sendDownstream', head, body, streaming: streaming === 1 }).status;
      },
    },
    fastly_http_downstream: {
      downstream_client_request_id: (_h, buf, bufLen, nwOut) => mem.writeOut(buf, bufLen, nwOut, s().downstream.traceId),
      downstream_client_ip_addr: downstreamIp('client'),
      downstream_server_ip_addr: downstreamIp('server'),
      // Plain HTTP locally: no TLS, no fingerprints, no bot detection (as Viceroy answers).
      downstream_tls_cipher_openssl_name: noValue,
      downstream_tls_protocol: noValue,
      downstream_tls_client_hello: noValue,
      downstream_tls_raw_client_certificate: noValue,
      downstream_tls_ja3_md5: noValue,
      downstream_tls_client_servername: noValue,
      downstream_tls_ja4: noValue,
      downstream_client_h2_fingerprint: noValue,
      downstream_client_oh_fingerprint: noValue,
      downstream_bot_analyzed: (_h, out) => {
        mem.setU32(out, 0);
        return Status.OK;
      },
      downstream_bot_detected: noValue,
      downstream_bot_name: noValue,
      downstream_bot_category_kind: noValue,
      downstream_bot_verified: noValue,
    },
    fastly_async_io: {
      select: (handlesPtr, count, timeoutMs, out) => {
        if (count === 0 && timeoutMs === 0) return Status.INVAL;
        const handles = mem.u32s(handlesPtr, count);
        const reply = rt.link.call({ op: 'select', handles, timeoutMs: timeoutMs >>> 0 });
        if (reply.status !== Status.OK) return reply.status;
        mem.setU32(out, reply.index ?? 0xffffffff);
        return Status.OK;
      },
      is_ready: (h, out) => {
        const reply = rt.link.call({ op: 'isReady', handle: h });
        if (reply.status !== Status.OK) return reply.status;
        mem.setU32(out, reply.done ? 1 : 0);
        return Status.OK;
      },
    },
    fastly_config_store: { open: openStore(rt.config.configStores), get: storeGet },
    fastly_dictionary: { open: openStore(rt.config.dictionaries), get: storeGet },
    fastly_backend: {
      exists: (namePtr, nameLen, out) => {
        mem.setU32(out, backends.has(mem.string(namePtr, nameLen)) ? 1 : 0);
        return Status.OK;
      },
      is_healthy: (namePtr, nameLen, out) => {
        if (!backends.has(mem.string(namePtr, nameLen))) return Status.INVAL;
        mem.setU32(out, BackendHealth.UNKNOWN);
        return Status.OK;
      },
      is_dynamic: backendNumber(() => 0),
      get_host: backendString((b) => new URL(b.url).hostname),
      get_override_host: backendString((b) => b.overrideHost),
      get_port: (namePtr, nameLen, out) => {
        const backend = backends.get(mem.string(namePtr, nameLen));
        if (!backend) return Status.INVAL;
        const url = new URL(backend.url);
        mem.setU16(out, Number(url.port) || (url.protocol === 'https:' ? 443 : 80));
        return Status.OK;
      },
      get_connect_timeout_ms: backendNumber(() => 1000),
      get_first_byte_timeout_ms: backendNumber(() => 15000),
      get_between_bytes_timeout_ms: backendNumber(() => 10000),
      get_http_keepalive_time: backendNumber(() => 60000),
      get_tcp_keepalive_enable: backendNumber(() => 1),
      get_tcp_keepalive_interval: backendNumber(() => 10),
      get_tcp_keepalive_probes: backendNumber(() => 3),
      get_tcp_keepalive_time: backendNumber(() => 60),
      is_ssl: backendNumber((b) => (new URL(b.url).protocol === 'https:' ? 1 : 0)),
      get_ssl_min_version: (namePtr, nameLen) => (backends.has(mem.string(namePtr, nameLen)) ? Status.NONE : Status.INVAL),
      get_ssl_max_version: (namePtr, nameLen) => (backends.has(mem.string(namePtr, nameLen)) ? Status.NONE : Status.INVAL),
    },
    fastly_geo: {
      lookup: (_addrPtr, _addrLen, buf, bufLen, nwOut) => mem.writeOut(buf, bufLen, nwOut, JSON.stringify(LOCAL_GEO)),
    },
    fastly_log: {
      endpoint_get: (namePtr, nameLen, out) => {
        const handle = s().allocate();
        s().logEndpoints.set(handle, mem.string(namePtr, nameLen));
        mem.setU32(out, handle);
        return Status.OK;
      },
      write: (h, msgPtr, msgLen, nwOut) => {
        const name = s().logEndpoints.get(h);
        if (name === undefined) return Status.BADF;
        // Like Viceroy: log endpoints print to stdout, prefixed with the endpoint name.
        writeSync(1, `${name} :: ${mem.string(msgPtr, msgLen)}\n`);
        mem.setU32(nwOut, msgLen);
        return Status.OK;
      },
    },
    fastly_compute_runtime: {
      get_vcpu_ms: (out) => {
        const usage = process.cpuUsage();
        mem.setU64(out, BigInt(Math.round((usage.user + usage.system) / 1000)));
        return Status.OK;
      },
      get_heap_mib: (out) => {
        mem.setU32(out, Math.ceil((rt.mem.memory?.buffer.byteLength ?? 0) / (1024 * 1024)));
        return Status.OK;
      },
    },
  };
}
