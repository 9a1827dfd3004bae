// Benchmark knobs from the environment, validated like every other input.
import { pushpinProfileFromEnv, type PushpinProfileName } from '../pushpin/pushpinProfiles.ts';

/**
 * The Pushpin profile a benchmark starts Pushpin with: `npm run bench -- NAME --pushpin-profile P`
 * (run.ts puts it in PUSHPIN_PROFILE), PUSHPIN_PROFILE itself, else the default. Benchmarks that write
 * results record it.
 */
export function benchPushpinProfile(env: NodeJS.ProcessEnv = process.env): PushpinProfileName {
  return pushpinProfileFromEnv(env);
}

/** `--pushpin-profile NAME` / `--pushpin-profile=NAME` taken out of the arguments (run.ts reads it for every benchmark). */
export function splitPushpinProfileOption(argv: string[]): { rest: string[]; profile?: string } {
  const rest: string[] = [];
  let profile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--pushpin-profile') {
      profile = argv[++i] ?? '';
    } else if (arg.startsWith('--pushpin-profile=')) {
      profile = arg.slice('--pushpin-profile='.length);
    } else {
      rest.push(arg);
    }
  }
  return profile === undefined ? { rest } : { rest, profile };
}

/** How to run a benchmark again with the profile it ran under: its arguments plus `--pushpin-profile`. */
export function argumentsWithProfile(args: string[], profile: PushpinProfileName = benchPushpinProfile()): string[] {
  return [...splitPushpinProfileOption(args).rest, '--pushpin-profile', profile];
}

export function benchInteger(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

/** The q-quantile (0..1) of an ascending array, nearest-rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
