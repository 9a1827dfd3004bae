import { describe, expect, it } from 'vitest';
import { UsageError } from './exitCodes.ts';
import { publishEndpoint, resolveTarget } from './publishTargets.ts';

const SERVICE = 'SU1Z0isxPaozGVKXdv0eY';

describe('resolveTarget', () => {
  it('defaults to the local Pushpin', () => {
    expect(resolveTarget(undefined, [], {})).toEqual({
      kind: 'grip',
      name: 'local',
      targets: [{ control_uri: 'http://127.0.0.1:5561/' }],
      endpoints: ['http://127.0.0.1:5561/publish/'],
      secrets: [],
    });
  });

  it('fastly: the API base (overridable), the service path and Fastly-Key; the token is a secret', () => {
    const env = { FASTLY_SERVICE_ID: SERVICE, FASTLY_API_TOKEN: 'tok-123456' };
    expect(resolveTarget('fastly', [], env)).toEqual({
      kind: 'grip',
      name: 'fastly',
      targets: [{ control_uri: `https://api.fastly.com/service/${SERVICE}`, fastlyKey: 'tok-123456' }],
      endpoints: [`https://api.fastly.com/service/${SERVICE}/publish/`],
      secrets: ['tok-123456'],
    });
    const local = resolveTarget('fastly', [], { ...env, FASTLY_API_URL: 'http://127.0.0.1:9/' });
    expect(local.endpoints).toEqual([`http://127.0.0.1:9/service/${SERVICE}/publish/`]);
  });

  it('fastly refuses a missing or malformed environment, naming the variable', () => {
    expect(() => resolveTarget('fastly', [], { FASTLY_API_TOKEN: 't' })).toThrow(/needs FASTLY_SERVICE_ID/);
    expect(() => resolveTarget('fastly', [], { FASTLY_SERVICE_ID: SERVICE, FASTLY_API_TOKEN: '  ' })).toThrow(/needs FASTLY_API_TOKEN/);
    expect(() => resolveTarget('fastly', [], { FASTLY_SERVICE_ID: 'no/good', FASTLY_API_TOKEN: 't' })).toThrow(/does not look like/);
    expect(() => resolveTarget('fastly', [], { FASTLY_SERVICE_ID: SERVICE, FASTLY_API_TOKEN: 't', FASTLY_API_URL: 'ftp://x' })).toThrow(
      /FASTLY_API_URL must be an http/,
    );
  });

  it('origin: ORIGIN_URL and PUBLISH_TOKEN, with the local defaults', () => {
    expect(resolveTarget('origin', [], {})).toMatchObject({
      kind: 'origin',
      url: 'http://127.0.0.1:3000/api/publish',
      token: 'dev-publish-token',
    });
    expect(resolveTarget('origin', [], { ORIGIN_URL: 'https://o.example/', PUBLISH_TOKEN: 'abcdefgh' })).toMatchObject({
      url: 'https://o.example/api/publish',
      baseUrl: 'https://o.example',
      token: 'abcdefgh',
      secrets: ['abcdefgh'],
    });
  });

  it('GRIP URLs: repeatable, credentials kept for auth but out of the endpoints, verify params dropped', () => {
    const target = resolveTarget(undefined, ['http://127.0.0.1:5561/?verify-iss=viceroy', 'https://pub.example/base?key=s3cret-key'], {});
    expect(target).toMatchObject({
      kind: 'grip',
      name: 'grip-url',
      targets: [{ control_uri: 'http://127.0.0.1:5561/' }, { control_uri: 'https://pub.example/base', key: 's3cret-key' }],
      endpoints: ['http://127.0.0.1:5561/publish/', 'https://pub.example/base/publish/'],
      secrets: ['s3cret-key'],
    });
  });

  it('GRIP_URL from the environment when neither --target nor --grip-url is given', () => {
    expect(resolveTarget(undefined, [], { GRIP_URL: 'http://a:1, http://b:2' }).endpoints).toEqual([
      'http://a:1/publish/',
      'http://b:2/publish/',
    ]);
    expect(resolveTarget('local', [], { GRIP_URL: 'http://a:1' }).endpoints).toEqual(['http://127.0.0.1:5561/publish/']);
  });

  it('refuses unknown targets, bad URLs and --target with --grip-url, without echoing credentials', () => {
    expect(() => resolveTarget('edge', [], {})).toThrow(UsageError);
    expect(() => resolveTarget('local', ['http://x'], {})).toThrow(/cannot be combined/);
    expect(() => resolveTarget(undefined, ['not a url?key=topsecret'], {})).toThrow(/is not a URL: "not a url\?key=\*\*\*"/);
    expect(() => resolveTarget(undefined, ['ws://x'], {})).toThrow(/http:\/\/ or https:\/\//);
  });
});

describe('publishEndpoint', () => {
  it('appends publish/ with the trailing slash Fastly requires', () => {
    expect(publishEndpoint('https://api.fastly.com/service/X')).toBe('https://api.fastly.com/service/X/publish/');
    expect(publishEndpoint('http://u:p@h:1/?key=k')).toBe('http://h:1/publish/');
  });
});
