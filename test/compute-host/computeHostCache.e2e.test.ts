// The readthrough cache of the local Compute host and Vary, through the real edge (bin/main.wasm):
// a response that varies on request headers is stored per variant and served only to requests with
// the same values; `Vary: *` is never stored.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_WASM } from '../../scripts/compute-host/edgeBuild.ts';
import { startGuestHost, type GuestHost } from '../fixtures/guestHost.ts';
import { rawGet } from '../fixtures/rawHttp.ts';

let host: GuestHost;
let backendHits = new Map<string, number>();
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  const backend = createServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://backend').pathname;
    backendHits.set(path, (backendHits.get(path) ?? 0) + 1);
    const vary = path === '/vary-star' ? '*' : path === '/vary-lang' ? 'Accept-Language' : 'Accept-Encoding';
    const chosen = path === '/vary-lang' ? req.headers['accept-language'] : req.headers['accept-encoding'];
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=600', vary });
    res.end(`variant for ${chosen ?? 'nothing'}`);
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', () => resolve()));
  closers.push(() => new Promise<void>((resolve) => backend.close(() => resolve())));
  host = await startGuestHost({ wasm: EDGE_WASM, backends: { origin: `http://127.0.0.1:${(backend.address() as AddressInfo).port}` } });
  closers.push(() => host.stop());
}, 60_000);
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function get(path: string, headers: Record<string, string>): Promise<{ cache: string; body: string }> {
  const response = await rawGet(`${host.url}${path}`, headers);
  return { cache: response.headerBytes('x-cache')?.toString() ?? '', body: response.body };
}

describe('Vary in the readthrough cache', () => {
  it('stores one variant per Accept-Encoding and serves each only to its own requests', async () => {
    backendHits = new Map();
    expect(await get('/vary-encoding', { 'accept-encoding': 'gzip' })).toEqual({ cache: 'MISS', body: 'variant for gzip' });
    expect(await get('/vary-encoding', { 'accept-encoding': 'identity' })).toEqual({ cache: 'MISS', body: 'variant for identity' });
    expect(await get('/vary-encoding', {})).toEqual({ cache: 'MISS', body: 'variant for nothing' });
    expect(await get('/vary-encoding', { 'accept-encoding': 'gzip' })).toEqual({ cache: 'HIT', body: 'variant for gzip' });
    expect(await get('/vary-encoding', { 'accept-encoding': 'identity' })).toEqual({ cache: 'HIT', body: 'variant for identity' });
    expect(await get('/vary-encoding', {})).toEqual({ cache: 'HIT', body: 'variant for nothing' });
    expect(backendHits.get('/vary-encoding')).toBe(3);
  });

  it('caches per variant for any request header it names', async () => {
    expect(await get('/vary-lang', { 'accept-language': 'fr' })).toEqual({ cache: 'MISS', body: 'variant for fr' });
    expect(await get('/vary-lang', { 'accept-language': 'de' })).toEqual({ cache: 'MISS', body: 'variant for de' });
    expect(await get('/vary-lang', { 'accept-language': 'fr' })).toEqual({ cache: 'HIT', body: 'variant for fr' });
  });

  it('never stores a response with Vary: *', async () => {
    expect((await get('/vary-star', {})).cache).toBe('MISS');
    expect((await get('/vary-star', {})).cache).toBe('MISS');
  });
});
