// A burst of new requests through the local Pushpin waits instead of being refused. On 1.36 the proxy
// hands every request to zurl over a ZeroMQ socket and answers `502 Error while proxying to origin.`
// when that socket cannot take it at once; with the package's zurl limits (2000 requests in progress,
// 1000 queued) that happened to everything past ~3,100 requests in progress, and to new WebSockets of
// the fan-out benchmark past a few thousand (each is WebSocket-over-HTTP requests to the origin). The
// generated config now gives zurl its own template (zurlLibdir.ts, ZURL_LIMITS); fastlyServeBurst.e2e.test.ts
// checks that the Fastly CLI's Pushpin (through the wrapper) runs zurl from the same template.
// Here the origin holds each request for a few seconds, so the whole burst is in progress at once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPushpin, type RunningPushpin } from '../../scripts/pushpin/pushpinProcess.ts';
import { findFreePort, findFreePortRange } from '../../scripts/shared/ports.ts';
import { BURST, sendBurst, startHoldingBackend, type HoldingBackend } from '../harness/requestBurst.ts';
import { TEST_PUSHPIN_PROFILE } from '../harness/testPushpinProfile.ts';

let backend: HoldingBackend;
let pushpin: RunningPushpin;
let logDir: string;

beforeAll(async () => {
  backend = await startHoldingBackend();
  logDir = mkdtempSync(join(tmpdir(), 'pushpin-burst-'));
  pushpin = await startPushpin({
    backends: [{ name: 'origin', url: backend.url }],
    proxyPort: await findFreePort(),
    publishPort: await findFreePortRange(4),
    profile: TEST_PUSHPIN_PROFILE,
    logDir,
    echo: false,
    log: () => {},
  });
}, 60_000);

afterAll(async () => {
  await pushpin?.stop();
  await backend?.close();
  if (logDir && !process.env.KEEP_BURST_LOG) rmSync(logDir, { recursive: true, force: true });
});

describe('a burst of requests through the local Pushpin', () => {
  it(`answers ${BURST} requests in progress at once from the origin, none with 502`, async () => {
    const byStatus = await sendBurst(pushpin.proxyUrl, 'origin');
    const log = readFileSync(pushpin.logFile, 'utf8');
    expect(byStatus, `status -> count; ${(log.match(/code=502/g) ?? []).length} 502s in Pushpin's log`).toEqual({ 200: BURST });
    expect(backend.held()).toBe(BURST);
  }, 120_000);
});
