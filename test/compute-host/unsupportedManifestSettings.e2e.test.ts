// The local Compute host names the fastly.toml settings it ignores when it starts, instead of running
// without them silently (a KV store or an ACL the edge relies on would just be missing locally).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EDGE_WASM } from '../../scripts/compute-host/edgeBuild.ts';
import { startManagedProcess } from '../../scripts/shared/managedProcess.ts';
import { findFreePort } from '../../scripts/shared/ports.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

const work = mkdtempSync(join(tmpdir(), 'unsupported-manifest-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function hostOutput(manifestText: string): Promise<string> {
  const manifest = join(work, `fastly-${Date.now()}.toml`);
  writeFileSync(manifest, manifestText);
  const host = await startManagedProcess({
    name: 'compute-host',
    command: join(PROJECT_ROOT, 'scripts/compute-host/viceroy'),
    args: ['-C', manifest, '--addr', `127.0.0.1:${await findFreePort()}`, EDGE_WASM],
    ready: /Listening on http/,
    readyTimeoutMs: 60_000,
  });
  try {
    return host.recentOutput();
  } finally {
    await host.stop();
  }
}

describe('local Compute host and unsupported fastly.toml settings', () => {
  it('names each one in a warning at start, and starts anyway', async () => {
    const base = readFileSync(join(PROJECT_ROOT, 'fastly.toml'), 'utf8');
    const output = await hostOutput(
      `${base}\n[local_server.kv_stores]\nsessions = [{ key = "a", data = "1" }]\n\n[local_server.secret_stores.keys]\nfile = "secrets.json"\nformat = "json"\n\n[local_server.acls]\nblocklist = "acl.json"\n`,
    );
    expect(output).toMatch(/compute-host: warning: .*fastly-\d+\.toml has settings the local stack does not support and ignores: local_server\.kv_stores, local_server\.secret_stores, local_server\.acls\b/);
  });

  it("prints no warning for this repository's fastly.toml", async () => {
    const output = await hostOutput(readFileSync(join(PROJECT_ROOT, 'fastly.toml'), 'utf8'));
    expect(output).not.toMatch(/warning:.*does not support/);
  });
});
