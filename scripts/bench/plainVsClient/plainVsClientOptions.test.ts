import { describe, expect, it } from 'vitest';
import { parsePlainVsClientOptions, PlainVsClientOptionsError } from './plainVsClientOptions.ts';

describe('parsePlainVsClientOptions', () => {
  it('defaults to the full run: every fault, 10 and 50 of each side per transport, the whole wait for both sides', () => {
    const options = parsePlainVsClientOptions([]);
    expect(options.faults).toEqual(['burst', 'slow-readers', 'pushpin-restart', 'origin-restart']);
    expect(options.settings).toEqual({
      clients: 10,
      restartClients: 50,
      burst: { messages: 1000, bytes: 1000 },
      slowReaders: { messages: 2000, bytes: 3000 },
      waitSeconds: 75,
    });
    expect(options.outDir).toBe('bench-results/plain-vs-client');
    expect(options.quick).toBe(false);
  });

  it('--quick is small and counts the plain side a few seconds after the clients; explicit options still win', () => {
    const options = parsePlainVsClientOptions(['--quick', '--clients', '4', '--out', '/tmp/x']);
    expect(options.settings).toMatchObject({ clients: 4, restartClients: 3, burst: { messages: 200 }, waitSeconds: 75, plainGraceSeconds: 2 });
    expect(options.outDir).toBe('/tmp/x');
    expect(options.args).toEqual(['--quick', '--clients', '4', '--out', '/tmp/x']);
  });

  it('takes some faults, once each', () => {
    expect(parsePlainVsClientOptions(['--faults', 'origin-restart, burst,burst']).faults).toEqual(['origin-restart', 'burst']);
  });

  it.each([
    [['--faults', 'burst,flood'], /--faults takes burst, slow-readers, pushpin-restart, origin-restart; got "flood"/],
    [['--clients', '0'], /--clients must be a whole number from 1 to 500, got "0"/],
    [['--bytes', '1.5'], /--bytes must be a whole number/],
    [['--wait', ''], /--wait must be a whole number/],
    [['--seconds', '3'], /Unknown option '--seconds'[\s\S]*--help/],
    [['burst'], /--help/],
  ])('refuses %j, naming the option', (args, message) => {
    expect(() => parsePlainVsClientOptions(args)).toThrow(PlainVsClientOptionsError);
    expect(() => parsePlainVsClientOptions(args)).toThrow(message);
  });
});
