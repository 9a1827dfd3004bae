// POP-based backend selection through the real edge: the local host runs the guest with a chosen
// FASTLY_POP, and recording backends show which backend each request (cached or handed off) reached.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingBackend, type RecordingBackend } from '../harness/recordingBackend.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

describe('a POP with its own entry in pop_backends', () => {
  let regional: RecordingBackend;
  let fallback: RecordingBackend;
  let stack: TestStack;
  beforeAll(async () => {
    regional = await startRecordingBackend();
    fallback = await startRecordingBackend();
    stack = await startTestStack({
      edge: { env: { FASTLY_POP: 'LHR' } },
      backends: { origin_eu: regional.url, origin_default: fallback.url },
      edgeSettings: { pop_backends: '{"default":"origin_default","LHR":"origin_eu"}' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await regional?.stop();
    await fallback?.stop();
  });

  it('sends cached forwarding to the POP\'s backend', async () => {
    const response = await fetch(`${stack.urls.edge}/pop/page`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-origin-backend')).toBe('origin_eu');
    await response.text();
    expect(regional.requestsTo('/pop/page')).toHaveLength(1);
    expect(fallback.requests).toHaveLength(0);
  });

  it('hands realtime requests to Fanout for the same backend', async () => {
    const response = await fetch(`${stack.urls.edge}/stream/pop`);
    expect(response.status).toBe(200);
    await response.text();
    const [seen] = regional.requestsTo('/stream/pop');
    expect(seen?.headers['grip-sig']).toBeDefined();
    expect(fallback.requests).toHaveLength(0);
  });
});

describe('a POP whose backend the service does not have', () => {
  let fallback: RecordingBackend;
  let stack: TestStack;
  beforeAll(async () => {
    fallback = await startRecordingBackend();
    stack = await startTestStack({
      edge: { env: { FASTLY_POP: 'FRA' } },
      backends: { origin_default: fallback.url },
      edgeSettings: { pop_backends: '{"default":"origin_default","FRA":"origin_missing"}' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await fallback?.stop();
  });

  it('falls back to the default backend and logs why', async () => {
    const response = await fetch(`${stack.urls.edge}/pop/fallback`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-origin-backend')).toBe('origin_default');
    await response.text();
    expect(fallback.requestsTo('/pop/fallback')).toHaveLength(1);
    expect(readFileSync(stack.logFiles.edge!, 'utf8')).toContain('backend "origin_missing" is missing; using the default "origin_default"');
  });
});

describe('failures at the edge', () => {
  let stack: TestStack;
  let resetting: Server;
  beforeAll(async () => {
    // A backend that drops every connection at once: the edge's fetch fails as for a dead origin,
    // and the port stays ours, so nothing else can answer on it during the test.
    resetting = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const port = (resetting.address() as AddressInfo).port;
    stack = await startTestStack({
      edge: true,
      backends: { origin_down: `http://127.0.0.1:${port}` },
      edgeSettings: { pop_backends: '{"default":"origin_down"}', realtime_paths: 'not-a-path', cache_ttl_overrides: '{"/x/":"soon"}' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise((resolve) => resetting?.close(resolve));
  });

  it('answers an unreachable backend with a JSON 502 naming it', async () => {
    const response = await fetch(`${stack.urls.edge}/anything`);
    expect(response.status).toBe(502);
    expect(response.headers.get('x-origin-backend')).toBe('origin_down');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ error: 'bad_gateway', message: 'the origin backend "origin_down" could not be reached' });
  });

  it('logs bad settings and keeps serving with the built-in defaults', async () => {
    // realtime_paths fell back to the defaults: /events/ is still handed off (to Pushpin, which then
    // cannot reach origin_down), instead of being forwarded to the cache path.
    const response = await fetch(`${stack.urls.edge}/events/x`);
    await response.body?.cancel();
    expect(response.headers.get('x-origin-backend')).toBeNull();
    const log = readFileSync(stack.logFiles.edge!, 'utf8');
    expect(log).toContain('edge_settings.realtime_paths: "not-a-path" is not a path prefix');
    expect(log).toContain('edge_settings.cache_ttl_overrides: the TTL for "/x/" must be whole seconds');
  });
});
