// `fanout-forward/client` as a user gets it: plain Node imports it by the package's name (exports,
// self-reference), TypeScript finds its declarations, and the browser bundle is one self-contained
// module, smaller than socket.io-client's. client/dist is built by the test setup (and npm install).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { bundleSizes } from '../../scripts/bench/clientSize.bench.ts';
import { CLIENT_DIST } from '../../scripts/client/clientBuild.ts';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';

const consumerDir = join(CLIENT_DIST, '.consumer-check');
afterAll(() => rmSync(consumerDir, { recursive: true, force: true }));

it('imports from plain Node by the package name, with a clear error when WebSocket is missing', () => {
  const script = `
    const m = await import('fanout-forward/client');
    let error = '';
    try { m.createClient({ url: 'http://127.0.0.1:1', transport: 'websocket' }); } catch (e) { error = e.message; }
    console.log(JSON.stringify({ createClient: typeof m.createClient, SubscriptionError: typeof m.SubscriptionError, error }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  const result = JSON.parse(out) as { createClient: string; SubscriptionError: string; error: string };
  expect(result).toMatchObject({ createClient: 'function', SubscriptionError: 'function' });
  expect(result.error).toMatch(/needs a WebSocket constructor.*Node 20 has none.*import WebSocket from 'ws'/);
});

it('gives TypeScript users its declarations', () => {
  mkdirSync(consumerDir, { recursive: true });
  writeFileSync(
    join(consumerDir, 'consumer.ts'),
    `import { createClient, type Message, type Subscription } from 'fanout-forward/client';
     const client = createClient({ url: 'https://example.com', transport: 'sse' });
     const sub: Subscription = client.subscribe('news', { since: '0', token: async () => 'jwt' });
     sub.on('message', (m: Message) => console.log(m.id, m.channel, m.data, m.ts));
     sub.on('reset', (r) => console.log(r.reason, r.since, r.after));
     // @ts-expect-error: no such event
     sub.on('nonsense', () => {});
     const position: string | undefined = sub.position;
     void position;
     void client.publish('news', { a: 1 }).then((id: string) => id);\n`,
  );
  writeFileSync(
    join(consumerDir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [], lib: ['ES2023', 'DOM'] }, files: ['consumer.ts'] }),
  );
  const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  expect(() => execFileSync(process.execPath, [tsc, '-p', join(consumerDir, 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
});

it('builds one self-contained browser module, smaller than socket.io-client', async () => {
  const bundle = readFileSync(join(CLIENT_DIST, 'client.min.js'));
  // No import statement or dynamic import left, no require: nothing for a browser to resolve.
  expect(bundle.toString('utf8')).not.toMatch(/(^|[;}])\s*import\s*[\w{*]|\bimport\(|\brequire\(/);
  const { createClient } = (await import(pathToFileURL(join(CLIENT_DIST, 'client.min.js')).href)) as typeof import('../../client/index.ts');
  expect(typeof createClient).toBe('function');
  const [ours, socketIo] = bundleSizes();
  console.log(`${ours!.name}: ${ours!.minified} B, ${ours!.gzipped} B gzipped; ${socketIo!.name}: ${socketIo!.minified} B, ${socketIo!.gzipped} B gzipped`);
  expect(ours!.gzipped).toBeLessThan(socketIo!.gzipped);
});
