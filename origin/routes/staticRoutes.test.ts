// GET /client.js: the browser bundle with caching and the same protective headers as the other
// assets, and, when it was never built, a 404 that says how to build it (the origin goes on serving).
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterEach, expect, it } from 'vitest';
import { CLIENT_BUNDLE_CACHE_CONTROL, CLIENT_BUNDLE_PATH, staticRoutes } from './staticRoutes.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(clientBundlePath: string): Promise<string> {
  const app = express();
  app.use(staticRoutes({ clientBundlePath }));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server!.once('listening', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

it('serves the built bundle as JavaScript, cacheable, with the protective headers', async () => {
  const bundle = join(mkdtempSync(join(tmpdir(), 'client-bundle-')), 'client.min.js');
  writeFileSync(bundle, 'export const createClient = 1;\n');
  const base = await serve(bundle);
  const response = await fetch(`${base}/client.js`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  expect(response.headers.get('cache-control')).toBe(CLIENT_BUNDLE_CACHE_CONTROL);
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
  expect(response.headers.get('etag')).toBeTruthy();
  expect(await response.text()).toBe('export const createClient = 1;\n');
});

it('answers 404 saying how to build it when it is missing, and keeps serving', async () => {
  const base = await serve(join(tmpdir(), 'no-such-dir', 'client.min.js'));
  for (let i = 0; i < 2; i++) {
    const response = await fetch(`${base}/client.js`);
    expect(response.status).toBe(404);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toContain('npm run build:client');
  }
});

it('looks for the bundle where the client build writes it', () => {
  expect(CLIENT_BUNDLE_PATH.endsWith(join('client', 'dist', 'client.min.js'))).toBe(true);
});
