// Resolves where the CLI publishes: the local Pushpin, the Fastly publish API, the origin's
// /api/publish, or explicit GRIP URLs. Reads the environment once, validates it with errors that name
// the variable, and collects every secret so the output layer can make sure none is ever printed.
import { parseGripUri } from '@fanoutio/grip';
import { DEV_PUBLISH_TOKEN } from '../../origin/config/originConfig.ts';
import type { GripTarget } from '../../origin/publishing/gripPublisher.ts';
import { UsageError } from './exitCodes.ts';

export const LOCAL_PUBLISH_URL = 'http://127.0.0.1:5561';
export const FASTLY_API_DEFAULT_URL = 'https://api.fastly.com';
export const ORIGIN_DEFAULT_URL = 'http://127.0.0.1:3000';

export type TargetName = 'local' | 'fastly' | 'origin' | 'grip-url';

export type ResolvedTarget =
  | {
      kind: 'grip';
      name: Exclude<TargetName, 'origin'>;
      targets: GripTarget[];
      /** Publish URLs without credentials, for output. */
      endpoints: string[];
      secrets: string[];
    }
  | {
      kind: 'origin';
      name: 'origin';
      /** POST /api/publish. */
      url: string;
      /** The origin's base URL, for POST /api/channels/:channel/close. */
      baseUrl: string;
      token: string;
      endpoints: string[];
      secrets: string[];
    };

type Env = Record<string, string | undefined>;

function envValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function httpUrl(raw: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${where} is not a URL: ${JSON.stringify(redactUrl(raw))}`, 'write it like http://127.0.0.1:5561');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${where} must be an http:// or https:// URL`, `got ${url.protocol}`);
  }
  return url;
}

/** Strips credentials (user:pass@, ?key=) from a URL-ish string, for error messages. */
function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^/@]*@/, '//***@').replace(/([?&](key|pass|token)=)[^&]*/gi, '$1***');
}

/** The origin's close endpoint for a channel (what a close is sent to instead of /api/publish). */
export function closeEndpoint(target: Extract<ResolvedTarget, { kind: 'origin' }>, channel: string): string {
  return `${target.baseUrl}/api/channels/${encodeURIComponent(channel)}/close`;
}

/** The URL the publisher POSTs to, without credentials. */
export function publishEndpoint(controlUri: string): string {
  const url = new URL(controlUri);
  url.username = '';
  url.password = '';
  url.search = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.pathname += 'publish/';
  return url.toString();
}

function gripUrlTarget(raw: string, where: string): { target: GripTarget; secrets: string[] } {
  httpUrl(raw, where);
  const config = parseGripUri(raw);
  const secrets: string[] = [];
  if (typeof config.key === 'string') secrets.push(config.key);
  if (config.pass) secrets.push(config.pass);
  // Only what publishing needs: verify-iss/verify-key are for the origin's signature checks.
  const target: GripTarget = { control_uri: config.control_uri };
  if (config.control_iss != null) target.control_iss = config.control_iss;
  if (config.key != null) target.key = config.key;
  if (config.user != null) target.user = config.user;
  if (config.pass != null) target.pass = config.pass;
  return { target, secrets };
}

function gripTargets(name: 'local' | 'grip-url', urls: string[], where: string): ResolvedTarget {
  const parsed = urls.map((raw) => gripUrlTarget(raw, where));
  return {
    kind: 'grip',
    name,
    targets: parsed.map((p) => p.target),
    endpoints: parsed.map((p) => publishEndpoint(p.target.control_uri)),
    secrets: parsed.flatMap((p) => p.secrets),
  };
}

function fastlyTarget(env: Env): ResolvedTarget {
  const serviceId = envValue(env, 'FASTLY_SERVICE_ID');
  const token = envValue(env, 'FASTLY_API_TOKEN');
  const hint = 'export FASTLY_SERVICE_ID=<service id> FASTLY_API_TOKEN=<API token with publish access>';
  if (!serviceId) throw new UsageError('--target fastly needs FASTLY_SERVICE_ID', hint);
  if (!token) throw new UsageError('--target fastly needs FASTLY_API_TOKEN', hint);
  if (!/^[A-Za-z0-9]{10,64}$/.test(serviceId)) {
    throw new UsageError(
      'FASTLY_SERVICE_ID does not look like a Fastly service ID',
      'it is 10-64 letters and digits; find it with `fastly service list` or in the Fastly console',
    );
  }
  const base = httpUrl(envValue(env, 'FASTLY_API_URL') ?? FASTLY_API_DEFAULT_URL, 'FASTLY_API_URL');
  base.search = '';
  base.hash = '';
  const controlUri = `${base.toString().replace(/\/+$/, '')}/service/${serviceId}`;
  return {
    kind: 'grip',
    name: 'fastly',
    targets: [{ control_uri: controlUri, fastlyKey: token }],
    endpoints: [publishEndpoint(controlUri)],
    secrets: [token],
  };
}

function originTarget(env: Env): ResolvedTarget {
  const url = httpUrl(envValue(env, 'ORIGIN_URL') ?? ORIGIN_DEFAULT_URL, 'ORIGIN_URL');
  url.search = '';
  url.hash = '';
  const base = url.toString().replace(/\/+$/, '');
  const token = envValue(env, 'PUBLISH_TOKEN') ?? DEV_PUBLISH_TOKEN;
  return {
    kind: 'origin',
    name: 'origin',
    url: `${base}/api/publish`,
    baseUrl: base,
    token,
    endpoints: [`${base}/api/publish`],
    secrets: [token],
  };
}

/**
 * --grip-url wins, then --target, then GRIP_URL from the environment, then the local Pushpin.
 * --target and --grip-url together are ambiguous and refused.
 */
export function resolveTarget(target: string | undefined, gripUrls: string[], env: Env): ResolvedTarget {
  if (target !== undefined && gripUrls.length > 0) {
    throw new UsageError('--target and --grip-url cannot be combined', 'use --grip-url alone to publish to GRIP URLs');
  }
  if (gripUrls.length > 0) return gripTargets('grip-url', gripUrls, '--grip-url');
  switch (target) {
    case 'local':
      return gripTargets('local', [LOCAL_PUBLISH_URL], '--target local');
    case 'fastly':
      return fastlyTarget(env);
    case 'origin':
      return originTarget(env);
    case undefined: {
      const fromEnv = envValue(env, 'GRIP_URL');
      if (fromEnv) return gripTargets('grip-url', fromEnv.split(/[\s,]+/).filter(Boolean), 'GRIP_URL');
      return gripTargets('local', [LOCAL_PUBLISH_URL], '--target local');
    }
    default:
      throw new UsageError(
        `--target must be local, fastly or origin, not ${JSON.stringify(target)}`,
        'for another GRIP endpoint use --grip-url URL',
      );
  }
}
