import { describe, expect, it } from 'vitest';
import { selectBackend, type BackendChoice, type BackendHealth } from './backendSelection.ts';

const popBackends = { default: 'origin', byPop: new Map([['LHR', 'origin_eu'], ['SJC', 'origin_us']]) };
const healthOf = (states: Record<string, BackendHealth>) => (name: string) => states[name] ?? 'unknown';

describe('selectBackend', () => {
  it.each<[string, string | undefined, Record<string, BackendHealth>, BackendChoice]>([
    ['a POP with an entry', 'LHR', {}, { backend: 'origin_eu', reason: 'pop-entry' }],
    ['a lower-case POP code', 'lhr', {}, { backend: 'origin_eu', reason: 'pop-entry' }],
    ['a POP without an entry', 'FRA', {}, { backend: 'origin', reason: 'default' }],
    ['no POP (local)', undefined, {}, { backend: 'origin', reason: 'default' }],
    ['a healthy POP backend', 'SJC', { origin_us: 'healthy' }, { backend: 'origin_us', reason: 'pop-entry' }],
    [
      'an unhealthy POP backend',
      'LHR',
      { origin_eu: 'unhealthy', origin: 'healthy' },
      { backend: 'origin', reason: 'fallback-to-default', skipped: { backend: 'origin_eu', health: 'unhealthy' } },
    ],
    [
      'an unhealthy POP backend, default health unknown',
      'LHR',
      { origin_eu: 'unhealthy' },
      { backend: 'origin', reason: 'fallback-to-default', skipped: { backend: 'origin_eu', health: 'unhealthy' } },
    ],
    [
      'a POP backend the service does not have',
      'LHR',
      { origin_eu: 'missing' },
      { backend: 'origin', reason: 'fallback-to-default', skipped: { backend: 'origin_eu', health: 'missing' } },
    ],
    ['both unhealthy: keep the POP backend', 'LHR', { origin_eu: 'unhealthy', origin: 'unhealthy' }, { backend: 'origin_eu', reason: 'pop-entry' }],
    ['an unhealthy default has no fallback', 'FRA', { origin: 'unhealthy' }, { backend: 'origin', reason: 'default' }],
  ])('%s', (_name, pop, health, expected) => {
    expect(selectBackend(pop, popBackends, healthOf(health))).toEqual(expected);
  });

  it('does not probe health when the default is chosen', () => {
    const probed: string[] = [];
    selectBackend('FRA', popBackends, (name) => (probed.push(name), 'healthy'));
    expect(probed).toEqual([]);
  });
});
