// A benchmark's command line (`npm run bench -- NAME [options]`), the part every benchmark with
// options reads the same way: node:util parseArgs (strict, no positionals), numbers checked against
// their range with a message that names the option and what it takes, and run(): print --help, or
// say what is wrong (exit code 2) before anything starts. Each benchmark keeps its flags, defaults,
// help text and error class (a BenchOptionsError) in its own options module.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line a benchmark refuses; each benchmark has its own subclass. */
export class BenchOptionsError extends Error {
  override name = 'BenchOptionsError';
}

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** The flags every benchmark with options takes, besides its own. */
export const COMMON_FLAGS = {
  out: { type: 'string' },
  quick: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

/** Options every benchmark with options has. */
export interface CommonBenchOptions {
  /** Where the results (latest.json, latest.md, ...) go. */
  outDir: string;
  quick: boolean;
  help: boolean;
}

/** The command line of the benchmark `bench`, whose refusals are `Refusal`s. */
export function benchCommandLine(bench: string, Refusal: new (message: string) => BenchOptionsError) {
  return {
    /** parseArgs's values; an unknown option, a missing value or a positional says where --help is. */
    parse<const O extends OptionSpecs>(args: string[], options: O) {
      try {
        return parseArgs({ args, allowPositionals: false, strict: true, options }).values;
      } catch (error) {
        throw new Refusal(`${(error as Error).message}\nRun \`npm run bench -- ${bench} --help\` for the options.`);
      }
    },
    /** `raw` (the value of --`name`) as a whole number from `min` to `max`. */
    wholeNumber(name: string, raw: string, min: number, max: number): number {
      const value = Number(raw);
      if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
        throw new Refusal(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      }
      return value;
    },
    /** `raw` (the value of --`name`) as a number up to `max`, from `min` (`minIncluded`) or above it. */
    number(name: string, raw: string, min: number, max: number, minIncluded: boolean): number {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value) || value > max || (minIncluded ? value < min : value <= min)) {
        throw new Refusal(`--${name} must be a number ${minIncluded ? 'from' : 'above'} ${min} ${minIncluded ? 'to' : 'and at most'} ${max}, got "${raw}"`);
      }
      return value;
    },
  };
}

/**
 * A benchmark's run(args): reads its options, prints its help for --help, or prints what is wrong
 * (`bench: message`, exit code 2) and starts nothing; else runs it.
 */
export async function runWithOptions<T extends { help: boolean }>(
  bench: string,
  args: string[],
  parse: (args: string[]) => T,
  help: string,
  start: (options: T) => Promise<unknown>,
): Promise<void> {
  let options: T;
  try {
    options = parse(args);
  } catch (error) {
    if (!(error instanceof BenchOptionsError)) throw error;
    console.error(`${bench}: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    console.log(help);
    return;
  }
  await start(options);
}
