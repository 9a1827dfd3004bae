// The edge handler against fakes of every `fastly:*` module (see vitest.config.ts) and a fake fetch.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handleRequest } from './handleRequest.ts';
import { committedHeaders, downstreamRequest } from './testing/downstreamRequest.ts';
import { resetFastlyFakes } from './testing/resetFastlyFakes.ts';
import { breakBackendApi, setBackends } from './testing/fastly/backend.ts';
import { CacheOverride } from './testing/fastly/cache-override.ts';
import { setConfigStore } from './testing/fastly/config-store.ts';
import { setEnv } from './testing/fastly/env.ts';
import { FAKE_HANDOFF_HEADER, failHandoffsWith, handoffs } from './testing/fastly/fanout.ts';

interface Forwarded {
  request: Request;
  /** The headers on the host handle of the request handed to fetch (see committedHeaders). */
  handleHeaders: Headers;
  backend: string | undefined;
  cacheOverride: CacheOverride | undefined;
}

let forwarded: Forwarded[];
let originResponse: () => Response | Promise<Response>;
let logged: string[];

beforeEach(() => {
  resetFastlyFakes();
  forwarded = [];
  logged = [];
  originResponse = () => new Response('from origin', { status: 200, headers: { 'cache-control': 'max-age=60', 'x-origin': 'yes' } });
  vi.stubGlobal('fetch', async (input: Request, init?: { backend?: string; cacheOverride?: CacheOverride }) => {
    forwarded.push({ request: input, handleHeaders: committedHeaders(input), backend: init?.backend, cacheOverride: init?.cacheOverride });
    return originResponse();
  });
  for (const level of ['log', 'warn', 'error'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
  }
  setConfigStore('edge_settings', {});
  setBackends({ origin: 'unknown', origin_eu: 'unknown' });
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** A client request as the edge gets it (`event.request`), with a small body on a POST. */
const request = (method: string, path: string, headers: Record<string, string> = {}, body = '{"a":1}') =>
  downstreamRequest(`http://edge.test${path}`, { method, headers, ...(method === 'POST' ? { body } : {}) });

describe('routing: Fanout handoff or the cache', () => {
  it.each<[string, Request, 'handoff' | 'forward']>([
    ['SSE path', request('GET', '/events/news'), 'handoff'],
    ['HTTP streaming path', request('GET', '/stream/news'), 'handoff'],
    ['long-poll path', request('GET', '/poll/news?since=2'), 'handoff'],
    ['WebSocket upgrade', request('GET', '/ws', { upgrade: 'websocket', connection: 'Upgrade' }), 'handoff'],
    ['event-stream Accept', request('GET', '/anything', { accept: 'text/event-stream' }), 'handoff'],
    ['HEAD on a realtime path', request('HEAD', '/events/news'), 'handoff'],
    ['home page', request('GET', '/'), 'forward'],
    ['history API', request('GET', '/api/channels/news/messages'), 'forward'],
    ['publish API', request('POST', '/api/publish'), 'forward'],
    ['POST to a realtime path', request('POST', '/events/news'), 'forward'],
  ])('%s -> %s', async (_name, req, expected) => {
    const response = await handleRequest(req);
    if (expected === 'handoff') {
      expect(handoffs).toHaveLength(1);
      expect(handoffs[0]!.backend).toBe('origin');
      expect(forwarded).toHaveLength(0);
      expect(response.headers.get(FAKE_HANDOFF_HEADER)).toBe('origin');
    } else {
      expect(handoffs).toHaveLength(0);
      expect(forwarded).toHaveLength(1);
      expect(forwarded[0]!.backend).toBe('origin');
      expect(response.headers.get('x-origin-backend')).toBe('origin');
    }
  });

  it('refuses a realtime request too long for the proxy with a 414, handing nothing off; the cache path is not limited', async () => {
    const long = 'c'.repeat(5000);
    for (const req of [request('GET', `/events/${long}`), request('GET', `/ws?x=${long}`, { upgrade: 'websocket', connection: 'Upgrade' })]) {
      const response = await handleRequest(req);
      expect(response.status).toBe(414);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await response.json()).toEqual({ error: 'uri_too_long', message: expect.stringMatching(/limited to 4000/) });
    }
    expect(handoffs).toHaveLength(0);
    expect((await handleRequest(request('GET', `/api/channels/${long}/messages`))).status).toBe(200);
    expect(forwarded).toHaveLength(1);
  });

  it('uses configured realtime paths', async () => {
    setConfigStore('edge_settings', { realtime_paths: '/live/' });
    await handleRequest(request('GET', '/live/x'));
    await handleRequest(request('GET', '/events/x'));
    expect(handoffs.map((h) => new URL(h.request.url).pathname)).toEqual(['/live/x']);
    expect(forwarded.map((f) => new URL(f.request.url).pathname)).toEqual(['/events/x']);
  });
});

describe('cache decisions reach fetch as a CacheOverride', () => {
  beforeEach(() => {
    setConfigStore('edge_settings', {
      cache_ttl_overrides: '{"/static/":30}',
      strip_query_paths: '/static/',
      pass_paths: '/api/admin/',
    });
  });

  it.each<[string, Request, { mode: string; ttl?: number }, string]>([
    ['POST passes', request('POST', '/api/publish'), { mode: 'pass' }, 'http://edge.test/api/publish'],
    ['Authorization passes', request('GET', '/static/a.css', { authorization: 'Bearer x' }), { mode: 'pass' }, 'http://edge.test/static/a.css'],
    ['Cookie passes', request('GET', '/', { cookie: 's=1' }), { mode: 'pass' }, 'http://edge.test/'],
    ['a pass path', request('GET', '/api/admin/x'), { mode: 'pass' }, 'http://edge.test/api/admin/x'],
    ['a TTL override, query stripped', request('GET', '/static/a.css?v=9'), { mode: 'override', ttl: 30 }, 'http://edge.test/static/a.css'],
    ['origin Cache-Control, query kept', request('GET', '/page?x=1'), { mode: 'none' }, 'http://edge.test/page?x=1'],
  ])('%s', async (_name, req, override, url) => {
    await handleRequest(req);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.cacheOverride).toBeInstanceOf(CacheOverride);
    expect(forwarded[0]!.cacheOverride).toMatchObject(override);
    if (override.ttl === undefined) expect(forwarded[0]!.cacheOverride!.ttl).toBeUndefined();
    expect(forwarded[0]!.request.url).toBe(url);
  });

  it('forwards a POST body and method unchanged', async () => {
    await handleRequest(request('POST', '/api/publish', { 'content-type': 'application/json' }));
    expect(forwarded[0]!.request.method).toBe('POST');
    expect(await forwarded[0]!.request.text()).toBe('{"a":1}');
  });

  it('keeps the method and headers when the query is stripped', async () => {
    await handleRequest(request('HEAD', '/static/a.css?v=1', { 'accept-encoding': 'gzip' }));
    expect(forwarded[0]!.request.method).toBe('HEAD');
    expect(forwarded[0]!.request.headers.get('accept-encoding')).toBe('gzip');
  });
});

describe('the origin response on the cache path', () => {
  it('keeps status, headers and body, and adds x-origin-backend', async () => {
    originResponse = () => new Response('missing', { status: 404, headers: { 'cache-control': 'no-store', 'x-origin': 'yes' } });
    const response = await handleRequest(request('GET', '/nope'));
    expect(response.status).toBe(404);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-origin')).toBe('yes');
    expect(response.headers.get('x-origin-backend')).toBe('origin');
    expect(await response.text()).toBe('missing');
  });

  it('replaces an x-origin-backend the origin sent', async () => {
    originResponse = () => new Response('', { headers: { 'x-origin-backend': 'spoofed' } });
    const response = await handleRequest(request('GET', '/'));
    expect(response.headers.get('x-origin-backend')).toBe('origin');
  });
});

describe('client-sent proxy headers are removed', () => {
  const forged = {
    'Grip-Sig': 'forged.jwt.sig',
    'Grip-Last': 'sse:news; last-id=1',
    'Pushpin-Route': 'other',
    'Connection-Id': 'c1',
    'Meta-User': 'admin',
    'X-Keep': 'kept',
  };
  const proxyOnly = ['grip-sig', 'grip-last', 'pushpin-route', 'connection-id', 'meta-user'];

  // A request the edge hands to the runtime must hold only the cleaned headers on its own host handle:
  // Fanout gets that handle as it is, and a header deleted from `event.request` in JS stays on its
  // handle (testing/downstreamRequest.ts). The edge does not count on fetch copying (3.46's does).
  it.each<[string, Request, () => Headers]>([
    ['before a handoff', request('GET', '/events/news', forged), () => handoffs[0]!.headers],
    ['before a WebSocket handoff', request('GET', '/ws', { ...forged, upgrade: 'websocket' }), () => handoffs[0]!.headers],
    ['before forwarding a GET', request('GET', '/', forged), () => forwarded[0]!.handleHeaders],
    ['before forwarding a POST', request('POST', '/api/publish', forged), () => forwarded[0]!.handleHeaders],
    ['before forwarding a query-stripped GET', request('GET', '/static/a?x=1', forged), () => forwarded[0]!.handleHeaders],
  ])('%s', async (_name, req, sent) => {
    setConfigStore('edge_settings', { strip_query_paths: '/static/' });
    await handleRequest(req);
    for (const name of proxyOnly) expect(sent().has(name)).toBe(false);
    expect(sent().get('x-keep')).toBe('kept');
    expect(logged.some((line) => line.includes('removed client-sent proxy headers'))).toBe(true);
  });

  it('a publish on the cache path reaches fetch on a request of its own: no proxy headers, the 8 MiB body intact, the cache passed', async () => {
    // js-compute 3.46's fetch copies the JS headers of what it is given into a new request
    // (fetch.cpp fetch -> Request::create), so handing it `event.request` leaked nothing; the fresh
    // request is the edge's own guarantee, and the body must come along unread.
    const body = 'p'.repeat(8 * 1024 * 1024 - 1) + '!';
    const publish = request('POST', '/api/publish', {
      'Grip-Sig': 'forged.jwt.sig',
      'Grip-Last': 'news; last-id=1',
      'Meta-Foo': 'bar',
      'Pushpin-Route': 'other',
      'Connection-Id': 'c1',
      'Content-Type': 'application/json',
    }, body);
    await handleRequest(publish);
    expect(forwarded).toHaveLength(1);
    const [sent] = forwarded;
    expect([...sent!.handleHeaders.keys()]).toEqual(['content-type']);
    expect(sent!.request.method).toBe('POST');
    expect(sent!.cacheOverride).toMatchObject({ mode: 'pass' });
    expect(sent!.request.bodyUsed).toBe(false);
    expect(await sent!.request.text()).toBe(body);
  });

  it.each<[string, Request, () => Request]>([
    ['on a handoff', request('GET', '/events/private-a?lastEventId=3&token=a.b.c'), () => handoffs[0]!.request],
    ['on a forwarded history read', request('GET', '/api/channels/private-a/messages?token=a.b.c'), () => forwarded[0]!.request],
  ])('moves a ?token= subscribe token into Authorization %s', async (_name, req, sent) => {
    await handleRequest(req);
    expect(new URL(sent().url).searchParams.has('token')).toBe(false);
    expect(sent().headers.get('authorization')).toBe('Bearer a.b.c');
    expect(sent().url).not.toContain('a.b.c');
  });

  it('answers two different tokens with a 400 itself: no URL with a token goes on', async () => {
    const response = await handleRequest(request('GET', '/events/private-a?token=a.b.c', { authorization: 'Bearer x.y.z' }));
    expect(response.status).toBe(400);
    expect(handoffs).toHaveLength(0);
    expect(forwarded).toHaveLength(0);
  });

  it('logs nothing for a clean request', async () => {
    await handleRequest(request('GET', '/'));
    expect(logged).toEqual([]);
  });
});

describe('POP routing', () => {
  const popBackends = '{"default":"origin","LHR":"origin_eu"}';

  it.each<[string, string | undefined, string | undefined, string]>([
    ['a POP with a map entry', popBackends, 'LHR', 'origin_eu'],
    ['a POP without a map entry', popBackends, 'FRA', 'origin'],
    ['no FASTLY_POP', popBackends, undefined, 'origin'],
    ['no map at all', undefined, 'LHR', 'origin'],
    ['a default other than origin', '{"default":"origin_eu"}', 'SJC', 'origin_eu'],
  ])('%s', async (_name, map, pop, backend) => {
    setConfigStore('edge_settings', map === undefined ? {} : { pop_backends: map });
    setEnv({ FASTLY_POP: pop });
    const forwardedResponse = await handleRequest(request('GET', '/'));
    await handleRequest(request('GET', '/events/news'));
    expect(forwarded[0]!.backend).toBe(backend);
    expect(forwardedResponse.headers.get('x-origin-backend')).toBe(backend);
    expect(handoffs[0]!.backend).toBe(backend);
  });

  it.each<[string, () => void, string, RegExp | undefined]>([
    ['an unhealthy POP backend falls back to the default', () => setBackends({ origin: 'healthy', origin_eu: 'unhealthy' }), 'origin', /"origin_eu" is unhealthy/],
    ['a POP backend the service lacks falls back', () => setBackends({ origin: 'unknown' }), 'origin', /"origin_eu" is missing/],
    ['a healthy POP backend is used', () => setBackends({ origin: 'healthy', origin_eu: 'healthy' }), 'origin_eu', undefined],
    ['unknown health keeps the POP backend', () => breakBackendApi(new Error('hostcall not implemented')), 'origin_eu', undefined],
  ])('%s', async (_name, arrange, backend, message) => {
    setConfigStore('edge_settings', { pop_backends: popBackends });
    setEnv({ FASTLY_POP: 'LHR' });
    arrange();
    const response = await handleRequest(request('GET', '/'));
    await handleRequest(request('GET', '/events/news'));
    expect(response.headers.get('x-origin-backend')).toBe(backend);
    expect(handoffs[0]!.backend).toBe(backend);
    if (message) expect(logged.some((line) => message.test(line))).toBe(true);
    else expect(logged).toEqual([]);
  });
});

describe('bad or missing configuration', () => {
  it.each([
    ['realtime_paths', 'events'],
    ['pop_backends', '{"LHR":"origin_eu"}'],
    ['cache_ttl_overrides', '{"/static/":"long"}'],
  ])('logs a bad %s and serves with the default', async (key, value) => {
    setConfigStore('edge_settings', { [key]: value });
    setEnv({ FASTLY_POP: 'LHR' });
    await handleRequest(request('GET', '/events/news'));
    await handleRequest(request('GET', '/static/a.css'));
    expect(handoffs[0]!.backend).toBe('origin');
    expect(forwarded[0]!.cacheOverride!.mode).toBe('none');
    expect(logged.filter((line) => line.includes(`edge_settings.${key}:`))).toHaveLength(2);
  });

  it('serves with built-in defaults when the store is not linked', async () => {
    setConfigStore('edge_settings', undefined);
    await handleRequest(request('GET', '/events/news'));
    await handleRequest(request('POST', '/api/publish'));
    expect(handoffs).toHaveLength(1);
    expect(forwarded[0]!.cacheOverride!.mode).toBe('pass');
    expect(logged.some((line) => /config store "edge_settings" is unavailable/.test(line))).toBe(true);
  });
});

describe('failures', () => {
  it.each([
    ['connection refused', () => Promise.reject(new TypeError('fetch failed: connection refused'))],
    ['a thrown error', () => { throw new Error('backend is not defined'); }],
  ])('an unreachable backend (%s) gives a JSON 502 naming it', async (_name, failing) => {
    originResponse = failing;
    setConfigStore('edge_settings', { pop_backends: '{"default":"origin_eu"}' });
    const response = await handleRequest(request('GET', '/page'));
    expect(response.status).toBe(502);
    expect(response.headers.get('x-origin-backend')).toBe('origin_eu');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ error: 'bad_gateway', message: 'the origin backend "origin_eu" could not be reached' });
    expect(logged.some((line) => /backend "origin_eu" unreachable for GET \/page/.test(line))).toBe(true);
  });

  it('a refused Fanout handoff gives a JSON 502', async () => {
    failHandoffsWith(new TypeError('Fanout is not enabled'));
    const response = await handleRequest(request('GET', '/events/news'));
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: string }).error).toBe('bad_gateway');
    expect(logged.some((line) => /Fanout handoff to "origin" failed: Fanout is not enabled/.test(line))).toBe(true);
  });
});
