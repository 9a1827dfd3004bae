// `npm run bench [-- NAME...]`: runs every scripts/bench/NAME.bench.ts (all of them without a name).
// Each benchmark starts what it needs on free ports, prints its numbers and stops by itself.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`Usage: npm run bench [-- NAME...]\n\nBenchmarks: ${available.join(', ') || '(none yet)'}`);
  process.exit(0);
}
const unknown = args.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')}. Available: ${available.join(', ')}`);
  process.exit(2);
}
const selected = args.length > 0 ? args : available;
if (selected.length === 0) {
  console.error('no benchmarks found in scripts/bench/');
  process.exit(2);
}
for (const name of selected) {
  console.log(`\n=== bench: ${name} ===`);
  const module = (await import(pathToFileURL(`${dir}${name}.bench.ts`).href)) as { run?: () => Promise<void> };
  if (typeof module.run !== 'function') throw new Error(`${name}.bench.ts must export run()`);
  await module.run();
}
