// The edge's cache and header rules, observed at the backend: a recording backend (an extra backend
// named `recorder`, the default in pop_backends) counts what reaches it, so a cache hit is a request
// that never arrives and a stripped header is one the backend never sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startRecordingBackend, type RecordingBackend } from '../harness/recordingBackend.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

let recorder: RecordingBackend;
let stack: TestStack;
let edge: string;

beforeAll(async () => {
  recorder = await startRecordingBackend();
  stack = await startTestStack({
    edge: true,
    backends: { recorder: recorder.url },
    edgeSettings: {
      pop_backends: '{"default":"recorder"}',
      cache_ttl_overrides: '{"/forced/":30}',
      strip_query_paths: '/assets/',
    },
  });
  edge = stack.urls.edge!;
});
afterAll(async () => {
  await stack?.stop();
  await recorder?.stop();
});

const FORGED = {
  'Grip-Sig': 'eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ2aWNlcm95In0.forged',
  'Grip-Last': 'sse:news; last-id=999',
  'Pushpin-Route': 'nowhere',
  'Connection-Id': 'forged-connection',
  'Meta-User': 'admin',
};

async function get(path: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(`${edge}${path}`, init);
  return { status: response.status, body: await response.text(), headers: response.headers };
}

describe('caching through the edge', () => {
  it('serves a second GET of a cacheable page from the cache, naming the backend', async () => {
    const first = await get('/assets/app.css');
    const second = await get('/assets/app.css');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-origin-backend')).toBe('recorder');
    expect(second.headers.get('x-origin-backend')).toBe('recorder');
    expect(second.body).toBe(first.body);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(recorder.requestsTo('/assets/app.css')).toHaveLength(1);
  });

  it('never caches a POST, even when the response says it may', async () => {
    const post = () => get('/submit', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    const first = await post();
    const second = await post();
    expect(first.body).not.toBe(second.body);
    expect(second.headers.get('x-cache')).not.toBe('HIT');
    expect(second.headers.get('x-origin-backend')).toBe('recorder');
    expect(recorder.requestsTo('/submit')).toHaveLength(2);
    expect(recorder.requestsTo('/submit').map((r) => r.body)).toEqual(['x', 'x']);
  });

  it.each([
    ['Authorization', { Authorization: 'Bearer secret' }],
    ['Cookie', { Cookie: 'session=abc' }],
  ])('passes a GET with %s', async (name, headers) => {
    const path = `/credentialed/${name}`;
    await get(path, { headers });
    await get(path, { headers });
    expect(recorder.requestsTo(path)).toHaveLength(2);
  });

  it('forces the configured TTL over the origin\'s no-store', async () => {
    // The recorder answers no-store below /private/; /forced/ has a 30 s override, so compare the two.
    await get('/private/x');
    await get('/private/x');
    expect(recorder.requestsTo('/private/x')).toHaveLength(2);
    await get('/forced/private');
    await get('/forced/private');
    expect(recorder.requestsTo('/forced/private')).toHaveLength(1);
  });

  it('drops the query string below a strip-query prefix, so variants share one entry', async () => {
    const a = await get('/assets/lib.js?v=1');
    const b = await get('/assets/lib.js?utm_source=x');
    expect(b.body).toBe(a.body);
    expect(recorder.requestsTo('/assets/lib.js').map((r) => r.path)).toEqual(['/assets/lib.js']);
  });
});

describe('client-sent proxy headers never reach the backend', () => {
  // A publish just under the origin's 8 MiB body cap (express.json '8mb'): the edge's cleaned request
  // carries the client's body over whole.
  const publishBody = JSON.stringify({ channel: 'forged', data: 'p'.repeat(8 * 1024 * 1024 - 64) });
  it.each<[string, string, { method: string; body?: string }]>([
    ['a history read (GET) on the cache path', '/api/channels/forged/messages', { method: 'GET' }],
    ['a publish (POST) on the cache path, its body intact', '/api/publish', { method: 'POST', body: publishBody }],
  ])('%s', async (_name, path, init) => {
    const response = await get(path, { ...init, headers: { ...FORGED, 'X-Kept': 'yes' } });
    expect(response.status).toBe(200);
    const [seen] = recorder.requestsTo(path);
    expect(seen).toBeDefined();
    for (const name of Object.keys(FORGED)) expect(seen!.headers[name.toLowerCase()]).toBeUndefined();
    expect(seen!.headers['x-kept']).toBe('yes');
    expect(seen!.body).toBe(init.body ?? '');
  });
});

describe('client-sent proxy headers never reach the backend through Fanout', () => {
  it('on an HTTP handoff (Pushpin itself would pass Meta-* on)', async () => {
    const response = await get('/stream/headers', { headers: { ...FORGED, 'X-Kept': 'yes' } });
    expect(response.status).toBe(200);
    const [seen] = recorder.requestsTo('/stream/headers');
    expect(seen).toBeDefined();
    expect(seen!.headers['grip-sig']).toBeDefined();
    expect(seen!.headers['grip-sig']).not.toBe(FORGED['Grip-Sig']);
    expect(seen!.headers['meta-user']).toBeUndefined();
    expect(seen!.headers['grip-last']).toBeUndefined();
    expect(seen!.headers['connection-id']).toBeUndefined();
    expect(seen!.headers['x-kept']).toBe('yes');
    // Fanout answers, not the cache path: no x-origin-backend.
    expect(response.headers.get('x-origin-backend')).toBeNull();
  });
});

describe('WebSocket through the edge and Fanout', () => {
  it('reaches the backend as WebSocket-over-HTTP, without the client\'s forged headers', async () => {
    const socket = new WebSocket(`${edge.replace(/^http/, 'ws')}/ws`, { headers: FORGED });
    try {
      const echoed = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no echo within 10 s')), 10_000);
        socket.once('open', () => socket.send('hello through fanout'));
        socket.once('message', (data) => {
          clearTimeout(timer);
          resolve(String(data));
        });
        socket.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
      expect(echoed).toBe('hello through fanout');
    } finally {
      socket.close();
    }
    const seen = recorder.requestsTo('/ws');
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const request of seen) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/websocket-events');
      // Pushpin sets its own Grip-Sig and Connection-Id: the client's values must not survive.
      expect(request.headers['grip-sig']).not.toBe(FORGED['Grip-Sig']);
      expect(request.headers['connection-id']).not.toBe(FORGED['Connection-Id']);
      expect(request.headers['meta-user']).toBeUndefined();
      expect(request.headers['grip-last']).toBeUndefined();
    }
    expect(seen.map((r) => r.body).join('')).toContain('hello through fanout');
  });
});
