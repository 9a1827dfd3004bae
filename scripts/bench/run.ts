// `npm run bench [-- NAME... | -- NAME --option...]`: runs every scripts/bench/NAME.bench.ts (all of
// them without a name). Options after a single name go to that benchmark (`npm run bench -- fanout
// --quick`); a benchmark that takes options exports `acceptsOptions = true` and validates them itself.
// Each benchmark starts what it needs on free ports, prints its numbers and stops by itself; Ctrl-C or
// SIGTERM stops it and everything it started (the process keepers and load processes follow us).
// `--pushpin-profile NAME` (any benchmark, any number of names) picks Pushpin's delivery settings
// (scripts/pushpin/pushpinProfiles.ts) for the run; benchmarks read it through benchPushpinProfile().
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stopEveryManagedProcess } from '../shared/managedProcess.ts';
import { DEFAULT_PUSHPIN_PROFILE, parsePushpinProfileName, PUSHPIN_PROFILE_ENV, PUSHPIN_PROFILE_NAMES, PushpinProfileError } from '../pushpin/pushpinProfiles.ts';
import { benchPushpinProfile, splitPushpinProfileOption } from './benchEnv.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();

const taken = splitPushpinProfileOption(process.argv.slice(2));
try {
  // Validated here, before anything starts; the benchmarks read it from the environment.
  if (taken.profile !== undefined) process.env[PUSHPIN_PROFILE_ENV] = parsePushpinProfileName(taken.profile, '--pushpin-profile');
  benchPushpinProfile();
} catch (error) {
  if (!(error instanceof PushpinProfileError)) throw error;
  console.error(error.message);
  process.exit(2);
}
const args = taken.rest;
const firstOption = args.findIndex((arg) => arg.startsWith('-'));
const names = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);

if (names.length === 0 && (options.includes('--help') || options.includes('-h'))) {
  console.log(
    `Usage: npm run bench [-- NAME...] [--pushpin-profile NAME]\n       npm run bench -- NAME --option... (options for one benchmark; NAME --help lists them)\n\n` +
      `--pushpin-profile ${PUSHPIN_PROFILE_NAMES.join('|')}: Pushpin's delivery settings (scripts/pushpin/pushpinProfiles.ts; ` +
      `default \$${PUSHPIN_PROFILE_ENV}, else ${DEFAULT_PUSHPIN_PROFILE})\n\nBenchmarks: ${available.join(', ') || '(none yet)'}`,
  );
  process.exit(0);
}
const unknown = names.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')}. Available: ${available.join(', ')}`);
  process.exit(2);
}
if (options.length > 0 && names.length !== 1) {
  console.error(`options (${options.join(' ')}) go to one benchmark: npm run bench -- NAME ${options.join(' ')}`);
  process.exit(2);
}
const selected = names.length > 0 ? names : available;
if (selected.length === 0) {
  console.error('no benchmarks found in scripts/bench/');
  process.exit(2);
}

let stopping = false;
for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(name, () => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${name}: stopping the benchmark and everything it started`);
    void stopEveryManagedProcess().finally(() => process.exit(130));
  });
}

for (const name of selected) {
  console.log(`\n=== bench: ${name} (Pushpin profile ${benchPushpinProfile()}) ===`);
  const module = (await import(pathToFileURL(`${dir}${name}.bench.ts`).href)) as {
    run?: (options: string[]) => Promise<void>;
    acceptsOptions?: boolean;
  };
  if (typeof module.run !== 'function') throw new Error(`${name}.bench.ts must export run()`);
  if (options.length > 0 && module.acceptsOptions !== true) {
    console.error(`${name} takes no options (its knobs, if any, are environment variables: see its header comment)`);
    process.exit(2);
  }
  await module.run(options);
}
