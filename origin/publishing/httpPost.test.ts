import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpPost, httpPostVia, type HttpPost } from './httpPost.ts';

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
      res.writeHead(status, 'Custom Reason', { 'X-Test': 'yes', ...(status === 503 ? { 'Retry-After': '2' } : {}) }).end(status === 204 ? undefined : `answer ${status}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** A port nothing listens on (bound, then let go). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

describe.each([
  ['createHttpPost', createHttpPost()],
  ['httpPostVia(fetch)', httpPostVia(fetch)],
] as Array<[string, HttpPost]>)('%s', (_name, post) => {
  it('POSTs a string body with its headers and Content-Length; answers status, reason, Retry-After and body', async () => {
    const answer = await post(`${url}/200`, { headers: { 'Content-Type': 'application/json', 'Fastly-Key': 'k' }, body: '{"é":1}', timeoutMs: 5000 });
    expect(answer).toEqual({ status: 200, statusText: 'Custom Reason', retryAfter: null, body: 'answer 200' });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"é":1}', headers: { 'content-length': '8', 'fastly-key': 'k' } });
    expect(await post(`${url}/503`, { headers: {}, body: 'x', timeoutMs: 5000 })).toMatchObject({ status: 503, retryAfter: '2', body: 'answer 503' });
    expect((await post(`${url}/204`, { headers: {}, body: 'x', timeoutMs: 5000 })).status).toBe(204);
  });

  it('fails with the socket error code when it cannot connect, and as TimeoutError when no answer comes', async () => {
    const refused = await post(`http://127.0.0.1:${await closedPort()}/`, { headers: {}, body: 'x', timeoutMs: 5000 }).catch((e: unknown) => e);
    expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
    const timedOut = await post(`${url}/hang`, { headers: {}, body: 'x', timeoutMs: 100 }).catch((e: unknown) => e);
    expect((timedOut as Error).name).toBe('TimeoutError');
  });
});
