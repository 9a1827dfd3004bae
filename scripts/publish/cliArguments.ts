// Parses the publish CLI's argv against OPTION_SPECS: long options (--name value, --name=value),
// short aliases (-t value), repeatable list options, '--' to end options and a lone '-' as a
// positional. Unknown or repeated options are usage errors with a hint, never silently ignored.
import { OPTION_SPECS, type OptionSpec } from './cliOptions.ts';
import { UsageError } from './exitCodes.ts';

export interface ParsedArguments {
  positionals: string[];
  flags: Set<string>;
  values: Map<string, string>;
  lists: Map<string, string[]>;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function unknownOption(token: string): UsageError {
  const name = token.replace(/^-+/, '').split('=')[0]!;
  const closest = OPTION_SPECS.map((spec) => ({ spec, d: editDistance(name, spec.name) })).sort((x, y) => x.d - y.d)[0];
  const suggestion = closest && closest.d <= 2 ? `did you mean --${closest.spec.name}? ` : '';
  return new UsageError(
    `unknown option ${token.split('=')[0]}`,
    `${suggestion}See --help. A message that starts with '-' goes after '--' (npm run publish -- news -- -5).`,
  );
}

export function parseArguments(argv: readonly string[], specs: readonly OptionSpec[] = OPTION_SPECS): ParsedArguments {
  const parsed: ParsedArguments = { positionals: [], flags: new Set(), values: new Map(), lists: new Map() };
  const byLong = new Map(specs.map((spec) => [spec.name, spec]));
  const byShort = new Map(specs.filter((spec) => spec.short).map((spec) => [spec.short!, spec]));

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token === '-' || !token.startsWith('-')) {
      parsed.positionals.push(token);
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      spec = byLong.get(eq === -1 ? token.slice(2) : token.slice(2, eq));
      if (eq !== -1) inline = token.slice(eq + 1);
    } else if (token.length === 2) {
      spec = byShort.get(token.slice(1));
    }
    if (!spec) throw unknownOption(token);
    const shown = `--${spec.name}`;

    if (spec.kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`${shown} takes no value`, `write just ${shown}`);
      if (parsed.flags.has(spec.name)) throw new UsageError(`${shown} is given twice`);
      parsed.flags.add(spec.name);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-')) {
        throw new UsageError(`${shown} needs a value (${spec.value ?? 'VALUE'})`, `for example ${shown}=${exampleValue(spec)}`);
      }
      value = next;
      i++;
    }
    if (spec.kind === 'list') {
      parsed.lists.set(spec.name, [...(parsed.lists.get(spec.name) ?? []), value]);
    } else {
      if (parsed.values.has(spec.name)) throw new UsageError(`${shown} is given twice`, 'give it once');
      parsed.values.set(spec.name, value);
    }
  }
  return parsed;
}

function exampleValue(spec: OptionSpec): string {
  if (spec.name === 'target') return 'fastly';
  if (spec.name === 'grip-url') return 'http://127.0.0.1:5561';
  if (spec.name === 'file') return 'messages.ndjson';
  return spec.value === 'ID' ? '42' : '10';
}
