import { describe, expect, it } from 'vitest';
import { DEFAULT_EDGE_SETTINGS, parseEdgeSettings, type EdgeSettings } from './edgeSettings.ts';

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
