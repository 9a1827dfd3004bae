import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHostArgs, UsageError } from './cli.ts';

describe('parseHostArgs (Viceroy command line)', () => {
  it('reads what `fastly compute serve --viceroy-path` passes', () => {
    expect(
      parseHostArgs(['-v', '-C', 'fastly.toml', '--addr', '127.0.0.1:7676', 'bin/main.wasm', '--local-pushpin-proxy-port=7677']),
    ).toEqual({
      wasmPath: resolve('bin/main.wasm'),
      manifestPath: resolve('fastly.toml'),
      host: '127.0.0.1',
      port: 7676,
      pushpinProxyPort: 7677,
      verbose: 1,
    });
  });

  it('accepts `serve`, -vv and separate flag values; answers --version', () => {
    expect(parseHostArgs(['serve', '-vv', '--local-pushpin-proxy-port', '9', 'x.wasm'])).toMatchObject({ verbose: 2, pushpinProxyPort: 9 });
    expect(parseHostArgs(['--version'])).toBe('version');
  });

  it('rejects a missing wasm path and bad ports clearly', () => {
    expect(() => parseHostArgs(['-C', 'fastly.toml'])).toThrow(UsageError);
    expect(() => parseHostArgs(['--addr', 'nowhere', 'a.wasm'])).toThrow(/HOST:PORT/);
    expect(() => parseHostArgs(['--local-pushpin-proxy-port=abc', 'a.wasm'])).toThrow(/port number/);
  });
});
