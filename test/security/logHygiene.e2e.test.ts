// Message payloads do not belong in logs (private channels' included): when a publish fails, the
// origin's log names which messages were stored (ids and channels), never what they say.
import { readFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startExtraOrigin, type ExtraOrigin } from '../harness/originProcess.ts';

let refusing: Server;
let origin: ExtraOrigin;
const logDir = mkdtempSync(join(tmpdir(), 'log-hygiene-'));

beforeAll(async () => {
  // A publish target that refuses every publish at once (a permanent failure: no retries to wait for).
  refusing = createServer((_req, res) => res.writeHead(400, { 'Content-Type': 'text/plain' }).end('refused'));
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  origin = await startExtraOrigin({
    name: 'log-hygiene-origin',
    pushpinPublishUrl: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`,
    logDir,
    env: { PUBLISH_TOKEN: 'log-hygiene-token', LOG_LEVEL: 'info' },
  });
});
afterAll(async () => {
  await origin?.stop();
  await new Promise((resolve) => refusing?.close(resolve));
});

it('a failed publish logs the stored ids and channels, not the data', async () => {
  const response = await fetch(`${origin.url}/api/publish`, {
    method: 'POST',
    headers: { Authorization: 'Bearer log-hygiene-token', 'Content-Type': 'application/json' },
    body: JSON.stringify({ items: [{ channel: 'private-secrets', data: { card: 'top-secret-payload-4111' } }] }),
  });
  expect(response.status).toBe(502);
  const { stored } = (await response.json()) as { stored: Array<{ id: string; channel: string }> };
  expect(stored).toHaveLength(1);
  await new Promise((r) => setTimeout(r, 300));
  const log = readFileSync(join(logDir, 'log-hygiene-origin.log'), 'utf8');
  const line = log.split('\n').find((l) => l.includes('publish failed'));
  expect(line, log).toBeDefined();
  expect(line).toContain(stored[0]!.id);
  expect(line).toContain('private-secrets');
  expect(log).not.toContain('top-secret-payload-4111');
});
