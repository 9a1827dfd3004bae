// @ts-check
// Builds `fanout-forward/client` into client/dist (gitignored):
//   index.js      the client for Node and bundlers (ESM, protocol/ inlined, readable)
//   client.min.js the browser bundle the origin serves at /client.js (ESM, minified)
//   types/        type declarations (client/dist/types/client/index.d.ts)
// `npm run build:client` runs it; so does `npm install` (the `prepare` script, with --if-possible:
// where the dev dependencies are left out, e.g. `npm install --omit=dev`, it says so and builds nothing
// instead of failing the install). Plain JavaScript so that it needs nothing but esbuild and typescript.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ifPossible = process.argv.includes('--if-possible');
const require = createRequire(import.meta.url);

/** @type {typeof import('esbuild')} */
let esbuild;
let tsc;
try {
  esbuild = await import('esbuild');
  tsc = require.resolve('typescript/bin/tsc');
} catch (error) {
  if (!ifPossible) throw error;
  console.warn('fanout-forward: client/dist not built (esbuild and typescript are dev dependencies); `npm run build:client` builds it');
  process.exit(0);
}

const dist = `${root}client/dist`;
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
/** @type {import('esbuild').BuildOptions} */
const common = { entryPoints: [`${root}client/index.ts`], bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', logLevel: 'warning' };
await esbuild.build({ ...common, outfile: `${dist}/index.js` });
await esbuild.build({ ...common, outfile: `${dist}/client.min.js`, minify: true, legalComments: 'none' });
execFileSync(process.execPath, [tsc, '-p', `${root}client/tsconfig.build.json`], { stdio: 'inherit' });
