import { describe, expect, it } from 'vitest';
import { cacheKeyUrl, decideCaching, planCaching, type CacheDecision, type CacheSettings } from './cachePolicy.ts';

const settings: CacheSettings = {
  cacheTtlOverrides: new Map([
    ['/static/', 30],
    ['/static/live/', 0],
    ['/api/channels/', 2],
  ]),
  passRequestHeaders: ['authorization', 'cookie'],
  passPaths: ['/api/admin/', '/healthz'],
  stripQueryPaths: ['/static/'],
};
const request = (method: string, path: string, headers: Record<string, string> = {}) =>
  new Request(`http://edge.test${path}`, { method, headers, ...(method === 'POST' || method === 'PUT' ? { body: 'x' } : {}) });

describe('decideCaching', () => {
  it.each<[string, Request, CacheDecision]>([
    ['POST is never cached', request('POST', '/api/publish'), { mode: 'pass', reason: 'method' }],
    ['PUT is never cached', request('PUT', '/static/a.css'), { mode: 'pass', reason: 'method' }],
    ['DELETE is never cached', request('DELETE', '/x'), { mode: 'pass', reason: 'method' }],
    ['OPTIONS is never cached', request('OPTIONS', '/x'), { mode: 'pass', reason: 'method' }],
    ['a pass path', request('GET', '/api/admin/users'), { mode: 'pass', reason: 'pass-path' }],
    ['an exact pass path', request('GET', '/healthz'), { mode: 'pass', reason: 'pass-path' }],
    ['Authorization passes', request('GET', '/static/a.css', { authorization: 'Bearer t' }), { mode: 'pass', reason: 'credentials' }],
    ['a Cookie passes', request('GET', '/', { cookie: 'session=1' }), { mode: 'pass', reason: 'credentials' }],
    ['a HEAD with a Cookie passes', request('HEAD', '/', { cookie: 'session=1' }), { mode: 'pass', reason: 'credentials' }],
    ['a TTL override', request('GET', '/static/app.js'), { mode: 'override', ttl: 30, prefix: '/static/' }],
    ['the longest TTL prefix wins', request('GET', '/static/live/now.json'), { mode: 'override', ttl: 0, prefix: '/static/live/' }],
    ['HEAD takes the TTL override', request('HEAD', '/api/channels/c/messages'), { mode: 'override', ttl: 2, prefix: '/api/channels/' }],
    ['otherwise the origin decides', request('GET', '/'), { mode: 'none' }],
    ['a near-miss prefix is not a match', request('GET', '/staticx/a.css'), { mode: 'none' }],
  ])('%s', (_name, req, expected) => {
    expect(decideCaching(req, settings)).toEqual(expected);
  });

  it('caches credentialed requests when no pass headers are configured', () => {
    const open = { ...settings, passRequestHeaders: [] };
    expect(decideCaching(request('GET', '/static/a.css', { cookie: 'a=1' }), open)).toEqual({ mode: 'override', ttl: 30, prefix: '/static/' });
  });

  it('passes on a custom header', () => {
    const custom = { ...settings, passRequestHeaders: ['x-session'] };
    expect(decideCaching(request('GET', '/', { 'X-Session': 'abc' }), custom)).toEqual({ mode: 'pass', reason: 'credentials' });
    expect(decideCaching(request('GET', '/', { cookie: 'a=1' }), custom)).toEqual({ mode: 'none' });
  });
});

describe('cacheKeyUrl', () => {
  it.each([
    ['GET', '/static/app.js?v=123&utm=x', 'http://edge.test/static/app.js'],
    ['HEAD', '/static/app.js?v=1', 'http://edge.test/static/app.js'],
    ['GET', '/static/app.js', 'http://edge.test/static/app.js'],
    ['GET', '/api/channels/c/messages?since=3', 'http://edge.test/api/channels/c/messages?since=3'],
    ['POST', '/static/upload?x=1', 'http://edge.test/static/upload?x=1'],
  ])('%s %s -> %s', (method, path, expected) => {
    expect(cacheKeyUrl(request(method, path), settings)).toBe(expected);
  });
});

describe('planCaching', () => {
  it('combines the decision and the URL', () => {
    expect(planCaching(request('GET', '/static/a.css?v=2'), settings)).toEqual({
      decision: { mode: 'override', ttl: 30, prefix: '/static/' },
      url: 'http://edge.test/static/a.css',
    });
  });
});
