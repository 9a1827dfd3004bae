#!/usr/bin/env node
// `fanout-publish`, the package's bin (package.json "bin"): the publish CLI, scripts/publish.ts, as a
// command of its own: `npx fanout-publish news hello` in this repository, or `fanout-publish` once the
// package is installed. Unlike `npm run publish`, nothing but the CLI's own output reaches stdout, so
// `--json` output can be piped. JavaScript because node runs a bin as is; the CLI is TypeScript, run
// through tsx (a devDependency: the CLI needs this repository's dependencies installed).
let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch (error) {
  process.stderr.write(
    `fanout-publish: cannot load tsx (${error.code ?? error.message}); run \`npm install\` in ${new URL('..', import.meta.url).pathname}\n`,
  );
  process.exit(1);
}
register();
await import('./publish.ts');
