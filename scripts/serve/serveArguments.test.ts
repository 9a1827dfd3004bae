import { describe, expect, it } from 'vitest';
import { edgeAddress, parseServeArguments } from './serveArguments.ts';

describe('the fastly compute serve flags npm run serve reads', () => {
  it('reads both spellings the CLI accepts', () => {
    expect(
      parseServeArguments(['--env=stage', '-C', 'app', '--addr', '127.0.0.1:9000', '--pushpin-proxy-port=9001', '--pushpin-publish-port', '9100', '--viceroy-path=/opt/viceroy']),
    ).toEqual({
      help: false,
      viceroyCheck: false,
      experimentalEnablePushpin: false,
      env: 'stage',
      dir: 'app',
      addr: '127.0.0.1:9000',
      pushpinProxyPort: 9001,
      pushpinPublishPort: 9100,
      viceroyPath: '/opt/viceroy',
    });
    expect(parseServeArguments(['-Capp', '--dir=other']).dir).toBe('other');
    expect(parseServeArguments(['--viceroy-check', '--experimental-enable-pushpin', '-h'])).toMatchObject({
      help: true,
      viceroyCheck: true,
      experimentalEnablePushpin: true,
    });
  });

  it('ignores the flags it does not need and everything after --', () => {
    expect(parseServeArguments(['--skip-build', '--watch-dir', 'edge', '-v', '--', '--env=x'])).toEqual({
      help: false,
      viceroyCheck: false,
      experimentalEnablePushpin: false,
    });
  });

  it('rejects bad values with the flag named', () => {
    expect(() => parseServeArguments(['--pushpin-publish-port=70000'])).toThrow(/--pushpin-publish-port must be a port number between 1 and 65535, got "70000"/);
    expect(() => parseServeArguments(['--pushpin-proxy-port', 'abc'])).toThrow(/--pushpin-proxy-port must be a port/);
    expect(() => parseServeArguments(['--env'])).toThrow(/--env needs a value/);
    expect(() => parseServeArguments(['--viceroy-path='])).toThrow(/--viceroy-path needs a value/);
  });

  it('splits --addr, defaulting to the CLI\'s 127.0.0.1:7676', () => {
    expect(edgeAddress(parseServeArguments([]))).toEqual({ host: '127.0.0.1', port: 7676 });
    expect(edgeAddress(parseServeArguments(['--addr=0.0.0.0:8080']))).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(() => edgeAddress(parseServeArguments(['--addr=7676']))).toThrow(/--addr must be HOST:PORT/);
  });
});
