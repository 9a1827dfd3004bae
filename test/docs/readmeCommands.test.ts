// Every command README.md shows in a shell block is still accepted: `npm start`, `npm test` and
// `npm run X` name scripts of package.json; a script (or a bin, or `node` with a file) that runs one
// of the project's own files runs it with `--help`, which must exit 0 and list every long option the
// README passes it; `fastly ...` (also through `npm run deploy`) is run with the README's flags and
// `--help`, which the Fastly CLI refuses (exit 1) for an unknown command or flag. Anything else must be
// one of the few outside tools the README may show (curl, ...).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMarkdown } from './markdownDocument.ts';
import { shellCommands, type ShellCommand } from './shellCommands.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHELL_BLOCKS = new Set(['sh', 'bash', 'shell', 'console']);
/** Tools from outside the project a README command may use; each is only looked up, never run. */
const OUTSIDE_TOOLS = new Set(['curl', 'printf', 'echo', 'export', 'cd', 'ulimit', 'sudo', 'apt-get', 'brew', 'docker', 'open']);
/** npm's own commands the README may show. */
const NPM_COMMANDS = new Set(['install', 'i', 'ci']);

interface PackageJson {
  scripts: Record<string, string>;
  bin?: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** One thing to run: the project's own file with --help, or the Fastly CLI with the README's words. */
type CheckSpec =
  /** The project's file run with --help (through node, or itself when `direct`); `subcommand`: the words before the options. */
  | { kind: 'script'; file: string; direct: boolean; subcommand: string[]; options: string[] }
  | { kind: 'fastly'; args: string[] };
/** A check with where the README shows the command. */
type Check = CheckSpec & { where: string };

interface Resolution {
  checks: CheckSpec[];
  problems: string[];
}

/** The long options a command passes (`--x` or `--x=v`), up to a bare `--` that ends options. */
function longOptions(args: string[]): string[] {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end))
    .filter((arg) => /^--[a-z]/i.test(arg))
    .map((arg) => arg.split('=')[0]!)
    .filter((option) => option !== '--help');
}

/** `node [--import tsx] FILE args`, `tsx FILE args`: the file and what follows it, or undefined. */
function projectFile(words: string[]): { file: string; args: string[] } | undefined {
  let i = 0;
  if (words[0] === 'exec') i++;
  if (words[i] === 'tsx') return words[i + 1] ? { file: words[i + 1]!, args: words.slice(i + 2) } : undefined;
  if (words[i] !== 'node') return undefined;
  i++;
  while (i < words.length && words[i]!.startsWith('-')) i += words[i] === '--import' || words[i] === '-r' ? 2 : 1;
  return words[i] ? { file: words[i]!, args: words.slice(i + 1) } : undefined;
}

function fileCheck(file: string, args: string[], what: string, direct = false): Resolution {
  if (!existsSync(join(ROOT, file))) return { checks: [], problems: [`${what}: ${file} does not exist`] };
  const firstOption = args.findIndex((arg) => arg.startsWith('-'));
  const subcommand = firstOption < 0 ? args : args.slice(0, firstOption);
  return { checks: [{ kind: 'script', file, direct, subcommand, options: longOptions(args) }], problems: [] };
}

/** `npm run NAME -- args`: the script must exist; what it runs is checked with the README's args. */
function npmScript(name: string, args: string[], shown: string): Resolution {
  const script = pkg.scripts[name];
  if (script === undefined) return { checks: [], problems: [`${shown}: package.json has no script "${name}"`] };
  const words = shellCommands([script]).at(-1)?.words ?? [];
  const own = projectFile(words);
  if (own) return fileCheck(own.file, args, shown);
  const fastly = words[0] === 'exec' ? words.slice(1) : words;
  if (fastly[0] === 'fastly') return { checks: [{ kind: 'fastly', args: [...fastly.slice(1), ...args] }], problems: [] };
  return { checks: [], problems: [] }; // another tool (js-compute-runtime, vitest): the script's presence is what can be checked
}

function resolveCommand({ words }: ShellCommand): Resolution {
  const shown = words.join(' ');
  const [command, ...rest] = words;
  if (command === 'npm') {
    const [sub, ...after] = rest;
    if (sub === 'start' || sub === 'test') return npmScript(sub, after[0] === '--' ? after.slice(1) : after, shown);
    if (sub === 'run' || sub === 'run-script') {
      const flagsEnd = after.findIndex((word) => !word.startsWith('-'));
      const name = after[flagsEnd];
      if (flagsEnd < 0 || name === undefined) return { checks: [], problems: [`${shown}: no script name`] };
      const args = after.slice(flagsEnd + 1);
      return npmScript(name, args[0] === '--' ? args.slice(1) : args, shown);
    }
    if (sub !== undefined && NPM_COMMANDS.has(sub)) return { checks: [], problems: [] };
    return { checks: [], problems: [`${shown}: not an npm command this test knows (add it to NPM_COMMANDS if it is right)`] };
  }
  if (command === 'npx') {
    const [tool, ...args] = rest;
    if (tool === 'fastly') return { checks: [{ kind: 'fastly', args }], problems: [] };
    if (tool === 'tsx') return args[0] ? fileCheck(args[0], args.slice(1), shown) : { checks: [], problems: [`${shown}: no file`] };
    const bin = tool === undefined ? undefined : pkg.bin?.[tool];
    if (bin !== undefined) return fileCheck(bin, args, shown);
    if (tool !== undefined && existsSync(join(ROOT, 'node_modules/.bin', tool))) return { checks: [], problems: [] };
    return { checks: [], problems: [`${shown}: ${tool ?? '(nothing)'} is neither a bin of package.json nor installed in node_modules/.bin`] };
  }
  if (command === 'fastly') return { checks: [{ kind: 'fastly', args: rest }], problems: [] };
  const own = projectFile(words);
  if (own) return fileCheck(own.file, own.args, shown);
  if (command !== undefined && command.includes('/') && existsSync(join(ROOT, command))) return fileCheck(command, rest, shown, true);
  if (command !== undefined && OUTSIDE_TOOLS.has(command)) return { checks: [], problems: [] };
  return { checks: [], problems: [`${shown}: "${command}" is not a command this test can check (add it to OUTSIDE_TOOLS if it is an outside tool)`] };
}

function run(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(file, args, { cwd: ROOT, timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Runs the project's file with --help (once per file) and the Fastly CLI with the README's words and --help. */
async function problemsOf(checks: Check[]): Promise<string[]> {
  const helpOf = new Map<string, Promise<{ code: number; output: string }>>();
  const fastlyBin = join(ROOT, 'node_modules/.bin/fastly');
  const results = await Promise.all(
    checks.map(async (check): Promise<string[]> => {
      if (check.kind === 'fastly') {
        const { code, output } = await run(fastlyBin, [...check.args, '--help']);
        return code === 0 ? [] : [`${check.where}: fastly ${check.args.join(' ')} --help exits ${code}: ${output.trim().split('\n').slice(-3).join(' / ')}`];
      }
      const help = (words: string[]): Promise<{ code: number; output: string }> => {
        const key = [check.file, ...words].join(' ');
        let result = helpOf.get(key);
        if (!result) {
          const args = [...words, '--help'];
          if (check.direct) result = run(join(ROOT, check.file), args);
          else result = run(process.execPath, check.file.endsWith('.ts') ? ['--import', 'tsx', check.file, ...args] : [check.file, ...args]);
          helpOf.set(key, result);
        }
        return result;
      };
      const shown = (words: string[]): string => [check.file, ...words, '--help'].join(' ');
      const top = await help([]);
      if (top.code !== 0) return [`${check.where}: ${shown([])} exits ${top.code}: ${top.output.trim().split('\n').slice(-3).join(' / ')}`];
      const listed = (output: string, option: string): boolean => new RegExp(`${option}(?![\\w-])`).test(output);
      let missing = check.options.filter((option) => !listed(top.output, option));
      if (missing.length === 0 || check.subcommand.length === 0) return missing.map((option) => `${check.where}: ${shown([])} does not list ${option}`);
      // A command with subcommands (`npm run bench -- fanout --subscribers ...`) lists their options in their own help.
      const sub = await help(check.subcommand);
      if (sub.code !== 0) return [`${check.where}: ${shown(check.subcommand)} exits ${sub.code}: ${sub.output.trim().split('\n').slice(-3).join(' / ')}`];
      missing = missing.filter((option) => !listed(sub.output, option));
      return missing.map((option) => `${check.where}: neither ${shown([])} nor ${shown(check.subcommand)} lists ${option}`);
    }),
  );
  return results.flat();
}

const readme = parseMarkdown(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const commands = readme.codeBlocks
  .filter((block) => SHELL_BLOCKS.has(block.info))
  .flatMap((block) => shellCommands(block.body).map((command) => ({ ...command, line: block.line + command.line })));

describe('the shell snippet reader', () => {
  it('splits commands, drops comments, assignments, redirections and here-documents, and reads $(...)', () => {
    const read = shellCommands([
      'FOO=1 npm run -s token -- a --ttl 60 && curl -N "http://x/?t=$(npm run -s token -- b)" # comment',
      "printf '%s\\n' one | npm run publish -- news - --target origin >/dev/null 2>&1",
      "curl -X POST http://x --data-binary @- <<'EOF'",
      '{"items":[]}',
      'EOF',
      'npm run deploy \\',
      '  --service-id=abc',
    ]);
    expect(read.map((command) => command.words)).toEqual([
      ['npm', 'run', '-s', 'token', '--', 'a', '--ttl', '60'],
      ['npm', 'run', '-s', 'token', '--', 'b'],
      ['curl', '-N', 'http://x/?t=$(...)'],
      ['printf', '%s\\n', 'one'],
      ['npm', 'run', 'publish', '--', 'news', '-', '--target', 'origin'],
      ['curl', '-X', 'POST', 'http://x', '--data-binary', '@-'],
      ['npm', 'run', 'deploy', '--service-id=abc'],
    ]);
    expect(read.map((command) => command.line)).toEqual([1, 1, 1, 2, 2, 3, 6]);
  });
});

describe('README.md commands', () => {
  it('shows shell commands to check', () => {
    expect(commands.length).toBeGreaterThan(5);
  });

  it('every command shown is still accepted (scripts exist, --help exits 0 and lists the options used)', async () => {
    const resolutions = commands.map((command) => ({ command, ...resolveCommand(command) }));
    const problems = resolutions.flatMap(({ command, problems: found }) => found.map((problem) => `README.md:${command.line}: ${problem}`));
    const checks = resolutions.flatMap(({ command, checks: found }) => found.map((check) => ({ ...check, where: `README.md:${command.line}` })));
    problems.push(...(await problemsOf(checks)));
    expect(problems).toEqual([]);
  }, 60_000);
});
