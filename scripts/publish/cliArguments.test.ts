import { describe, expect, it } from 'vitest';
import { parseArguments } from './cliArguments.ts';
import { UsageError } from './exitCodes.ts';

describe('parseArguments', () => {
  it('reads positionals, flags, values and repeated lists', () => {
    const parsed = parseArguments(['news', 'hello', '--json', '--target', 'fastly', '-g', 'http://a', '--grip-url=http://b']);
    expect(parsed.positionals).toEqual(['news', 'hello']);
    expect([...parsed.flags]).toEqual(['json']);
    expect(parsed.values.get('target')).toBe('fastly');
    expect(parsed.lists.get('grip-url')).toEqual(['http://a', 'http://b']);
  });

  it('accepts --name=value, short aliases and options anywhere', () => {
    const parsed = parseArguments(['--batch=10', 'news', '-t', 'origin', 'msg', '-f', 'x.txt']);
    expect(parsed.values.get('batch')).toBe('10');
    expect(parsed.values.get('target')).toBe('origin');
    expect(parsed.values.get('file')).toBe('x.txt');
    expect(parsed.positionals).toEqual(['news', 'msg']);
  });

  it("keeps a lone '-' as a positional and everything after '--' too", () => {
    expect(parseArguments(['news', '-']).positionals).toEqual(['news', '-']);
    expect(parseArguments(['news', '--', '-5']).positionals).toEqual(['news', '-5']);
    expect(parseArguments(['--', '--json']).flags.size).toBe(0);
    expect(parseArguments(['--file', '-']).values.get('file')).toBe('-');
  });

  it('a value may contain = and be empty after =', () => {
    expect(parseArguments(['--grip-url=http://h/?key=a=b']).lists.get('grip-url')).toEqual(['http://h/?key=a=b']);
    expect(parseArguments(['--id=']).values.get('id')).toBe('');
  });

  it.each([
    [['--bogus'], /unknown option --bogus/],
    [['--targt', 'x'], /unknown option --targt[\s\S]*did you mean --target/],
    [['-x'], /unknown option -x/],
    [['-5'], /unknown option -5/],
    [['--target'], /--target needs a value/],
    [['--target', '--json'], /--target needs a value/],
    [['--json=yes'], /--json takes no value/],
    [['--json', '--json'], /--json is given twice/],
    [['--id', '1', '--id', '2'], /--id is given twice/],
  ])('refuses %j', (argv, message) => {
    let error: unknown;
    try {
      parseArguments(argv);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(`${(error as UsageError).message} ${(error as UsageError).hint ?? ''}`).toMatch(message);
  });

  it("hints at '--' for a message that starts with '-'", () => {
    expect(() => parseArguments(['news', '-5'])).toThrow(UsageError);
    try {
      parseArguments(['news', '-5']);
    } catch (error) {
      expect((error as UsageError).hint).toMatch(/after '--'/);
    }
  });
});
