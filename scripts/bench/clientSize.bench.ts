// `npm run bench -- clientSize`: the browser bundle of fanout-forward/client (GET /client.js), minified
// and gzipped, next to socket.io-client's browser bundle from node_modules (WebSocket and long-polling,
// no resume). Builds client/dist first when it is stale.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CLIENT_DIST, ensureClientBuilt } from '../client/clientBuild.ts';

export function bundleSizes(): Array<{ name: string; minified: number; gzipped: number }> {
  const socketIoDist = join(dirname(createRequire(import.meta.url).resolve('socket.io-client/package.json')), 'dist');
  return [
    ['fanout-forward/client (client.min.js: WebSocket, SSE, NDJSON, long-poll)', join(CLIENT_DIST, 'client.min.js')],
    ['socket.io-client 4 (socket.io.min.js)', join(socketIoDist, 'socket.io.min.js')],
    ['socket.io-client 4 (socket.io.esm.min.js)', join(socketIoDist, 'socket.io.esm.min.js')],
  ].map(([name, file]) => {
    const bytes = readFileSync(file!);
    return { name: name!, minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
  });
}

export async function run(): Promise<void> {
  ensureClientBuilt();
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  for (const { name, minified, gzipped } of bundleSizes()) console.log(`${name.padEnd(72)} ${kb(minified).padStart(9)} min  ${kb(gzipped).padStart(8)} min+gzip`);
}
