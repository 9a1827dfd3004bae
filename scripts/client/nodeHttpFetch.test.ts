// The node:http fetch for the client, against a real HTTP server: status and headers, a body read
// chunk by chunk as it is written, JSON and text, and an abort that ends a held response.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodeHttpFetch } from './nodeHttpFetch.ts';

let server: Server;
let base: string;
const held: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/echo') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'] ?? null })));
      return;
    }
    if (req.url === '/json') {
      res.writeHead(403, { 'Content-Type': 'application/json', 'X-Seen': String(req.headers['x-test']) }).end('{"message":"no"}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.write('{"a":1}\n');
    held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it('answers with the status, the headers (case-insensitively) and a JSON body', async () => {
  const response = await nodeHttpFetch()(`${base}/json`, { headers: { 'X-Test': 'yes' } });
  expect(response.status).toBe(403);
  expect(response.headers.get('Content-Type')).toBe('application/json');
  expect(response.headers.get('x-seen')).toBe('yes');
  expect(response.headers.get('nope')).toBeNull();
  expect(await response.json()).toEqual({ message: 'no' });
});

it('reads a held body chunk by chunk as it is written, and an abort ends it', async () => {
  const abort = new AbortController();
  const response = await nodeHttpFetch()(`${base}/stream`, { headers: {}, signal: abort.signal });
  const reader = response.body!.getReader();
  const decode = (value: Uint8Array | undefined) => new TextDecoder().decode(value);
  expect(decode((await reader.read()).value)).toBe('{"a":1}\n');
  held.at(-1)!.write('{"a":2}\n');
  expect(decode((await reader.read()).value)).toBe('{"a":2}\n');
  abort.abort();
  await expect(reader.read()).rejects.toThrow();
});

it('sends the method and the body it is given (presence leases PUT and DELETE)', async () => {
  const put = await nodeHttpFetch()(`${base}/echo`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"transport":"sse"}' });
  expect(await put.json()).toEqual({ method: 'PUT', body: '{"transport":"sse"}', type: 'application/json' });
  const del = await nodeHttpFetch()(`${base}/echo`, { method: 'DELETE', headers: {} });
  expect(await del.json()).toEqual({ method: 'DELETE', body: '', type: null });
});
