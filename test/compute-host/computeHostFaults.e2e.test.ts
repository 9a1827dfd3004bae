// Faults on the local Compute host, with test guests over real HTTP: a guest that traps or whose
// stream breaks mid-response (the client must see a cut response, never a clean end), header bytes
// outside ASCII (sent as Viceroy sends them, never a hang), the send error a failed fetch reports,
// and a client that goes away while its guest waits on a backend or streams.
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, startGuestHost, type GuestHost } from '../fixtures/guestHost.ts';
import { rawGet } from '../fixtures/rawHttp.ts';

async function listen(server: Server | net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

describe('a guest trap mid-stream', () => {
  let host: GuestHost;
  beforeAll(async () => {
    host = await startGuestHost({ wasm: await buildGuest('trapMidStream.wat') });
    closers.push(() => host.stop());
  }, 60_000);

  it('a guest trap mid-stream on the host: the client sees an aborted response', async () => {
    const response = await rawGet(`${host.url}/`);
    expect(response.status).toBe(200);
    expect(response.body).toBe('first part\n');
    expect(response.complete).toBe(false);
    await host.waitForOutput(/guest trapped: RuntimeError: unreachable/);
    // The host keeps serving after it.
    expect((await rawGet(`${host.url}/again`)).complete).toBe(false);
  });
});

describe('the fault guest', () => {
  let host: GuestHost;
  /** Requests the slow backend holds (it answers only when the client is gone or the test ends). */
  const held = new Set<import('node:http').ServerResponse>();
  let slowClosed = 0;
  beforeAll(async () => {
    const slow = createServer((req, res) => {
      held.add(res);
      res.once('close', () => {
        held.delete(res);
        if (!res.writableFinished) slowClosed++;
      });
      req.resume();
    });
    const garbage = net.createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 abc nonsense\r\n\r\n')));
    const reset = net.createServer((socket) => socket.once('data', () => socket.destroy()));
    const backends = { slow: await listen(slow), garbage: await listen(garbage), reset: await listen(reset), refused: 'http://127.0.0.1:9' };
    closers.push(async () => {
      for (const res of held) res.destroy();
      for (const server of [slow, garbage, reset]) await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    // One worker: a request the host did not let go of would keep the next one waiting.
    host = await startGuestHost({
      wasm: await buildGuest('faultGuest.js'),
      backends,
      env: { COMPUTE_HOST_WORKERS: '1', COMPUTE_HOST_MAX_WORKERS: '1' },
    });
    closers.push(() => host.stop());
  }, 120_000);

  it('a guest stream that breaks off ends the response as cut, not complete', async () => {
    const response = await rawGet(`${host.url}/stream-then-error`);
    expect(response.status).toBe(200);
    expect(response.body).toBe('first\n');
    expect(response.complete).toBe(false);
  });

  it('sends a header byte outside ASCII as the guest wrote it, and does not hang', async () => {
    const response = await rawGet(`${host.url}/header`);
    expect(response.status).toBe(200);
    expect(response.headerBytes('x-note')).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(response.body).toBe('header set');
  });

  it('hands request header bytes to the guest unchanged (UTF-8 in, the same bytes out)', async () => {
    const utf8 = Buffer.from('café ✓', 'utf8');
    const response = await rawGet(`${host.url}/echo-header`, { 'x-in': utf8.toString('latin1') });
    expect(response.headerBytes('x-echo')).toEqual(utf8);
  });

  it('reports send errors with the witx codes: refused, terminated, invalid status', async () => {
    const message = async (backend: string): Promise<string> => (await rawGet(`${host.url}/fetch?backend=${backend}`)).body;
    expect(await message('refused')).toMatch(/Connection refused/);
    expect(await message('reset')).toMatch(/Connection terminated/);
    const garbage = await message('garbage');
    expect(garbage).toMatch(/^fetch failed: NetworkError: /);
    expect(garbage).not.toMatch(/TLS/);
    expect(garbage).toMatch(/status/i);
  });

  it('stops the work of a client that went away while its guest waited on a backend, and frees the worker', async () => {
    const gone = rawGet(`${host.url}/fetch?backend=slow&path=/held`, {}, 1000).catch(() => 'client gave up');
    expect(await gone).toBe('client gave up');
    // The host aborts the backend request it made for nobody ...
    const deadline = Date.now() + 10_000;
    while (slowClosed < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(slowClosed).toBe(1);
    // ... and its only worker serves the next request (the backend would have held it forever).
    expect((await rawGet(`${host.url}/header`)).status).toBe(200);
    await host.waitForOutput(/client went away/);
  });

  it('fails the guest writes of a stream whose client went away, so the guest ends and frees the worker', async () => {
    const lines = await new Promise<string>((resolve, reject) => {
      import('node:http').then(({ get }) => {
        const request = get(`${host.url}/stream-forever`, { agent: false }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => {
            text += chunk.toString();
            if (text.includes('line 3')) {
              request.destroy();
              resolve(text);
            }
          });
        });
        request.once('error', () => {});
        setTimeout(() => reject(new Error('no line 3 within 10 s')), 10_000);
      }, reject);
    });
    expect(lines).toContain('line 1');
    expect((await rawGet(`${host.url}/header`)).status).toBe(200);
  });

  it('sees a request body cut off when its client leaves mid-upload, and frees the worker', async () => {
    const { request } = await import('node:http');
    const upload = request(`${host.url}/read-body`, { method: 'POST', agent: false, headers: { 'content-length': '100000' } });
    upload.once('error', () => {});
    upload.write('x'.repeat(1000));
    await new Promise((r) => setTimeout(r, 300));
    upload.destroy();
    await host.waitForOutput(/read failed: /);
    expect((await rawGet(`${host.url}/header`)).status).toBe(200);
  });

  it('stops the worker of a guest that keeps running after its client went away', async () => {
    expect(await rawGet(`${host.url}/sleep`, {}, 500).catch(() => 'client gave up')).toBe('client gave up');
    // The sleeping guest holds the only worker until the host stops it (5 s after the client left).
    expect((await rawGet(`${host.url}/header`, {}, 25_000)).status).toBe(200);
    await host.waitForOutput(/the guest still ran 5 s after its client went away; its worker is stopped/);
  });
});
