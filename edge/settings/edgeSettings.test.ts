import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EDGE_SETTINGS, EDGE_SETTING_KEYS, parseEdgeSettings, type EdgeSettings } from './edgeSettings.ts';

const from = (values: Record<string, string>) => (key: string) => values[key] ?? null;

describe('parseEdgeSettings', () => {
  it('uses every built-in default for an empty store, without problems', () => {
    const { settings, problems } = parseEdgeSettings(from({}));
    expect(settings).toEqual(DEFAULT_EDGE_SETTINGS);
    expect(settings.realtimePaths).toEqual(['/events/', '/stream/', '/poll/', '/ws']);
    expect(settings.popBackends.default).toBe('origin');
    expect(settings.passRequestHeaders).toEqual(['authorization', 'cookie']);
    expect(problems).toEqual([]);
  });

  it.each<[string, Record<string, string>, Partial<EdgeSettings>]>([
    ['realtime paths, trimmed', { realtime_paths: ' /live/ , /ws ,' }, { realtimePaths: ['/live/', '/ws'] }],
    ['no realtime paths at all', { realtime_paths: '' }, { realtimePaths: [] }],
    [
      'a POP map, codes upper-cased',
      { pop_backends: '{"default":"origin","lhr":"origin_eu","SJC":"origin_us"}' },
      { popBackends: { default: 'origin', byPop: new Map([['LHR', 'origin_eu'], ['SJC', 'origin_us']]) } },
    ],
    [
      'TTL overrides',
      { cache_ttl_overrides: '{"/static/":30,"/api/channels/":0}' },
      { cacheTtlOverrides: new Map([['/static/', 30], ['/api/channels/', 0]]) },
    ],
    ['pass headers, lower-cased', { pass_request_headers: 'Authorization, X-Session' }, { passRequestHeaders: ['authorization', 'x-session'] }],
    ['caching credentialed requests (no pass headers)', { pass_request_headers: '' }, { passRequestHeaders: [] }],
    ['pass paths', { pass_paths: '/api/,/admin' }, { passPaths: ['/api/', '/admin'] }],
    ['query stripping', { strip_query_paths: '/static/' }, { stripQueryPaths: ['/static/'] }],
  ])('reads %s', (_name, values, expected) => {
    const { settings, problems } = parseEdgeSettings(from(values));
    expect(problems).toEqual([]);
    expect(settings).toEqual({ ...DEFAULT_EDGE_SETTINGS, ...expected });
  });

  it.each([
    ['realtime_paths', 'events/,/ws', /"events\/" is not a path prefix/],
    ['realtime_paths', '/a b/', /not a path prefix/],
    ['pop_backends', 'not json', /not valid JSON/],
    ['pop_backends', '["origin"]', /JSON object/],
    ['pop_backends', '{"LHR":"origin_eu"}', /"default" entry/],
    ['pop_backends', '{"default":""}', /backend name/],
    ['pop_backends', '{"default":"origin","LHR":42}', /entry for LHR/],
    ['pop_backends', '{"default":"origin","L H R":"x"}', /not a POP code/],
    ['cache_ttl_overrides', '{"/static/":"30"}', /whole seconds/],
    ['cache_ttl_overrides', '{"/static/":-1}', /whole seconds/],
    ['cache_ttl_overrides', '{"/static/":1.5}', /whole seconds/],
    ['cache_ttl_overrides', '{"static":30}', /not a path prefix/],
    ['pass_request_headers', 'authorization,bad header', /not a header name/],
    ['pass_paths', '/api/?x', /not a path prefix/],
    ['strip_query_paths', 'static', /not a path prefix/],
  ])('reports a bad %s (%s) and uses the built-in default', (key, value, message) => {
    const { settings, problems } = parseEdgeSettings(from({ [key]: value }));
    expect(settings).toEqual(DEFAULT_EDGE_SETTINGS);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ key, value });
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.message).toMatch(/using the built-in default/);
  });

  it('keeps the good keys when one key is bad', () => {
    const { settings, problems } = parseEdgeSettings(
      from({ realtime_paths: '/live/', pop_backends: '{oops', cache_ttl_overrides: '{"/static/":30}' }),
    );
    expect(problems.map((p) => p.key)).toEqual(['pop_backends']);
    expect(settings.realtimePaths).toEqual(['/live/']);
    expect(settings.popBackends).toEqual(DEFAULT_EDGE_SETTINGS.popBackends);
    expect(settings.cacheTtlOverrides.get('/static/')).toBe(30);
  });
});

describe('parseEdgeSettings: hostile Config Store values (property-based)', () => {
  const KEYS = Object.values(EDGE_SETTING_KEYS).map((k) => k.key);
  const FIELD_OF = new Map(Object.entries(EDGE_SETTING_KEYS).map(([field, { key }]) => [key, field as keyof EdgeSettings]));
  /** Values as someone might type them into the store: near-misses of every format, and junk. */
  const prefix = fc.oneof(fc.stringMatching(/^\/[A-Za-z0-9_./-]{0,12}$/), fc.string({ maxLength: 8 }), fc.constantFrom('/', '/a b', '/?', '/#x', 'events/', ' /x '));
  const value = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.tuple(fc.array(prefix, { maxLength: 5 }), fc.constantFrom(',', ', ', ',,')).map(([items, separator]) => items.join(separator)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.dictionary(prefix, fc.oneof(fc.integer({ min: -5, max: 40_000_000 }), fc.double(), fc.string({ maxLength: 10 }), fc.constant(null))).map((d) => JSON.stringify(d)),
    fc
      .dictionary(fc.oneof(fc.constant('default'), fc.stringMatching(/^[A-Za-z0-9_-]{1,5}$/), fc.string({ maxLength: 6 })), fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant(' origin')))
      .map((d) => JSON.stringify(d)),
    fc.constantFrom('', ' ', ',', '{}', '[]', 'null', '{"default":"origin","__proto__":"x"}', '{"__proto__":{"default":"x"}}', 'x'.repeat(8000)),
  );
  const store = fc.dictionary(fc.constantFrom(...KEYS), value);

  /** What every setting must look like, whatever was in the store. */
  function expectWellFormed(settings: EdgeSettings): void {
    for (const list of [settings.realtimePaths, settings.passPaths, settings.stripQueryPaths, [...settings.cacheTtlOverrides.keys()]]) {
      for (const item of list) expect(item).toMatch(/^\/[^\s?#]*$/);
    }
    for (const ttl of settings.cacheTtlOverrides.values()) {
      expect(Number.isInteger(ttl)).toBe(true);
      expect(ttl).toBeGreaterThanOrEqual(0);
      expect(ttl).toBeLessThanOrEqual(365 * 24 * 3600);
    }
    for (const name of settings.passRequestHeaders) expect(name).toMatch(/^[!#$%&'*+.^_`|~0-9a-z-]+$/);
    for (const backend of [settings.popBackends.default, ...settings.popBackends.byPop.values()]) {
      expect(backend.length).toBeGreaterThan(0);
      expect(backend.length).toBeLessThanOrEqual(254);
      expect(backend).toBe(backend.trim());
    }
    for (const pop of settings.popBackends.byPop.keys()) expect(pop).toMatch(/^[A-Z0-9_-]{1,32}$/);
  }

  it('never throws; a bad key takes its default with one problem naming it, a good key is used', () => {
    fc.assert(
      fc.property(store, (values) => {
        const { settings, problems } = parseEdgeSettings((key) => values[key] ?? null);
        expectWellFormed(settings);
        expect(new Set(problems.map((p) => p.key)).size).toBe(problems.length);
        for (const problem of problems) {
          expect(problem.value).toBe(values[problem.key]);
          expect(problem.message).toMatch(new RegExp(`^${problem.key}: .*; using the built-in default$`, 's'));
          const field = FIELD_OF.get(problem.key)!;
          expect(settings[field]).toEqual(DEFAULT_EDGE_SETTINGS[field]);
        }
        for (const key of KEYS) if (!(key in values)) expect(problems.map((p) => p.key)).not.toContain(key);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads back every well-formed setting exactly, with no problems', () => {
    const goodPrefix = fc.stringMatching(/^\/[A-Za-z0-9_.-]{0,10}\/?$/);
    const settings = fc.record({
      realtime_paths: fc.uniqueArray(goodPrefix, { maxLength: 5 }),
      pass_paths: fc.uniqueArray(goodPrefix, { maxLength: 5 }),
      strip_query_paths: fc.uniqueArray(goodPrefix, { maxLength: 5 }),
      pass_request_headers: fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,20}$/), { maxLength: 5 }),
      cache_ttl_overrides: fc.dictionary(goodPrefix, fc.integer({ min: 0, max: 365 * 24 * 3600 })),
      pop_backends: fc.record({
        default: fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/),
        byPop: fc.dictionary(fc.stringMatching(/^[A-Z]{3}$/), fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/)),
      }),
    });
    fc.assert(
      fc.property(settings, (s) => {
        const values: Record<string, string> = {
          realtime_paths: s.realtime_paths.join(','),
          pass_paths: s.pass_paths.join(', '),
          strip_query_paths: s.strip_query_paths.join(','),
          pass_request_headers: s.pass_request_headers.join(','),
          cache_ttl_overrides: JSON.stringify(s.cache_ttl_overrides),
          pop_backends: JSON.stringify({ default: s.pop_backends.default, ...s.pop_backends.byPop }),
        };
        const parsed = parseEdgeSettings((key) => values[key] ?? null);
        expect(parsed.problems).toEqual([]);
        expect(parsed.settings).toEqual({
          realtimePaths: s.realtime_paths,
          passPaths: s.pass_paths,
          stripQueryPaths: s.strip_query_paths,
          passRequestHeaders: s.pass_request_headers,
          cacheTtlOverrides: new Map(Object.entries(s.cache_ttl_overrides)),
          popBackends: { default: s.pop_backends.default, byPop: new Map(Object.entries(s.pop_backends.byPop)) },
        });
      }),
    );
  });
});
