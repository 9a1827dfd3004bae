import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../stack/ports.ts';
import { createHttpFetch } from './httpFetch.ts';

let server: Server;
let url: string;
const seen: Array<{ method?: string; headers: Record<string, unknown>; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url === '/hang') return;
      const status = Number(req.url?.slice(1)) || 200;
      res.writeHead(status, 'Custom Reason', { 'X-Test': 'yes' }).end(status === 204 ? undefined : `answer ${status}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('createHttpFetch', () => {
  const httpFetch = createHttpFetch();

  it('POSTs a string body with its headers and Content-Length; answers a Response', async () => {
    const response = await httpFetch(`${url}/200`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Fastly-Key': 'k' }, body: '{"é":1}' });
    expect(response.ok).toBe(true);
    expect(await response.text()).toBe('answer 200');
    expect(response.headers.get('x-test')).toBe('yes');
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"é":1}', headers: { 'content-length': '8', 'fastly-key': 'k' } });
  });

  it('keeps status and reason of an error answer, and handles 204', async () => {
    const response = await httpFetch(`${url}/413`, { method: 'POST', body: 'x' });
    expect([response.status, response.statusText, response.ok]).toEqual([413, 'Custom Reason', false]);
    expect(await response.text()).toBe('answer 413');
    expect((await httpFetch(`${url}/204`, { method: 'POST', body: 'x' })).status).toBe(204);
  });

  it('fails like fetch: TypeError with the socket error as cause, or the signal reason on timeout', async () => {
    const closed = await findFreePort();
    const refused = await httpFetch(`http://127.0.0.1:${closed}/`, { method: 'POST', body: 'x' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as { cause: { code: string } }).cause.code).toBe('ECONNREFUSED');
    const timedOut = await httpFetch(`${url}/hang`, { method: 'POST', body: 'x', signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect((timedOut as Error).name).toBe('TimeoutError');
  });
});
