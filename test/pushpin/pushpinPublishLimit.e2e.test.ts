// The local Pushpin refuses a publish body Fastly Fanout would refuse (64 KiB). Debian's 1.36 ignores
// `push_in_http_max_body_size` (the key the Fastly CLI writes, read from 1.41 on) and took 1 MB
// bodies; the generated config now also sets the key 1.36-1.40 read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPushpin, type RunningPushpin } from '../../scripts/pushpin/pushpinProcess.ts';
import { findFreePort, findFreePortRange } from '../../scripts/shared/ports.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_PUSHPIN_PROFILE } from '../harness/testPushpinProfile.ts';

let pushpin: RunningPushpin;

beforeAll(async () => {
  pushpin = await startPushpin({
    backends: [{ name: 'origin', url: new URL('http://127.0.0.1:9') }],
    proxyPort: await findFreePort(),
    publishPort: await findFreePortRange(4),
    profile: TEST_PUSHPIN_PROFILE,
    logDir: mkdtempSync(join(tmpdir(), 'pushpin-limit-')),
    echo: false,
    log: () => {},
  });
});

afterAll(async () => {
  await pushpin?.stop();
});

function publishBody(contentBytes: number): string {
  return JSON.stringify({ items: [{ channel: 'limit-test', formats: { 'http-stream': { content: 'x'.repeat(contentBytes) } } }] });
}

describe("the local Pushpin's publish body limit", () => {
  it('accepts a body up to 64 KiB and refuses a larger one', async () => {
    const small = await fetch(`${pushpin.publishUrl}/publish/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: publishBody(60_000) });
    expect(small.status).toBe(200);
    const large = await fetch(`${pushpin.publishUrl}/publish/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: publishBody(70_000) });
    expect(await large.text()).toMatch(/too large/i);
    expect(large.status).toBe(400);
  });
});
