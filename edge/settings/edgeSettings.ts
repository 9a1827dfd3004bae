// The edge's settings, read from the Config Store `edge_settings`. Every key is optional; a missing key
// takes its built-in default, and a bad value is reported as a problem (the caller logs it) and also
// takes the default, so a typo in the store degrades one rule instead of taking the service down.

/** The Config Store the edge reads (link a store with this name to the service on Fastly). */
export const EDGE_SETTINGS_STORE = 'edge_settings';

/** The fastly.toml backend used when nothing else is configured. */
export const BUILT_IN_BACKEND = 'origin';

export interface PopBackends {
  /** Used for every POP without its own entry, and as the fallback for an unhealthy backend. */
  default: string;
  /** Upper-case POP code (as in FASTLY_POP) -> backend name. */
  byPop: ReadonlyMap<string, string>;
}

export interface EdgeSettings {
  /** `realtime_paths`: GET/HEAD requests below these prefixes are handed to Fanout. */
  realtimePaths: readonly string[];
  /** `pop_backends`: which backend serves requests arriving at each POP. */
  popBackends: PopBackends;
  /** `cache_ttl_overrides`: path prefix -> TTL in seconds that replaces the origin's Cache-Control. */
  cacheTtlOverrides: ReadonlyMap<string, number>;
  /** `pass_request_headers`: a GET/HEAD carrying any of these headers bypasses the cache. */
  passRequestHeaders: readonly string[];
  /** `pass_paths`: requests below these prefixes always bypass the cache. */
  passPaths: readonly string[];
  /** `strip_query_paths`: below these prefixes GET/HEAD drop the query string, so variants share one cache entry. */
  stripQueryPaths: readonly string[];
}

export const DEFAULT_EDGE_SETTINGS: EdgeSettings = {
  realtimePaths: ['/events/', '/stream/', '/poll/', '/ws'],
  popBackends: { default: BUILT_IN_BACKEND, byPop: new Map() },
  cacheTtlOverrides: new Map(),
  passRequestHeaders: ['authorization', 'cookie'],
  passPaths: [],
  stripQueryPaths: [],
};

export interface SettingsProblem {
  key: string;
  value: string;
  message: string;
}

export interface ParsedEdgeSettings {
  settings: EdgeSettings;
  problems: SettingsProblem[];
}

/** A Config Store lookup: the value, or null when the key is absent. */
export type SettingsReader = (key: string) => string | null;

class BadSetting extends Error {}

const MAX_TTL_SECONDS = 365 * 24 * 60 * 60;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const POP_CODE = /^[A-Za-z0-9_-]{1,32}$/;

function listItems(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function pathPrefix(item: string): string {
  if (!item.startsWith('/') || /[\s?#]/.test(item)) {
    throw new BadSetting(`${JSON.stringify(item)} is not a path prefix (it must start with "/" and have no spaces, "?" or "#")`);
  }
  return item;
}

function pathPrefixList(value: string): string[] {
  return listItems(value).map(pathPrefix);
}

function headerNameList(value: string): string[] {
  return listItems(value).map((name) => {
    if (!HEADER_NAME.test(name)) throw new BadSetting(`${JSON.stringify(name)} is not a header name`);
    return name.toLowerCase();
  });
}

function backendName(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 254 || value !== value.trim()) {
    throw new BadSetting(`${where} must be a backend name (1-254 characters, no surrounding spaces)`);
  }
  return value;
}

function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new BadSetting('not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadSetting('must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function popBackendMap(value: string): PopBackends {
  const entries = jsonObject(value);
  if (!('default' in entries)) throw new BadSetting('needs a "default" entry');
  const byPop = new Map<string, string>();
  for (const [pop, backend] of Object.entries(entries)) {
    if (pop === 'default') continue;
    if (!POP_CODE.test(pop)) throw new BadSetting(`${JSON.stringify(pop)} is not a POP code`);
    byPop.set(pop.toUpperCase(), backendName(backend, `the entry for ${pop}`));
  }
  return { default: backendName(entries.default, 'the "default" entry'), byPop };
}

function ttlMap(value: string): Map<string, number> {
  const ttls = new Map<string, number>();
  for (const [prefix, ttl] of Object.entries(jsonObject(value))) {
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS) {
      throw new BadSetting(`the TTL for ${JSON.stringify(prefix)} must be whole seconds from 0 to ${MAX_TTL_SECONDS}`);
    }
    ttls.set(pathPrefix(prefix), ttl);
  }
  return ttls;
}

type Parsers = { [K in keyof EdgeSettings]: { key: string; parse: (value: string) => EdgeSettings[K] } };

/** Config Store key and parser for each setting; the README documents the same keys. */
export const EDGE_SETTING_KEYS: Parsers = {
  realtimePaths: { key: 'realtime_paths', parse: pathPrefixList },
  popBackends: { key: 'pop_backends', parse: popBackendMap },
  cacheTtlOverrides: { key: 'cache_ttl_overrides', parse: ttlMap },
  passRequestHeaders: { key: 'pass_request_headers', parse: headerNameList },
  passPaths: { key: 'pass_paths', parse: pathPrefixList },
  stripQueryPaths: { key: 'strip_query_paths', parse: pathPrefixList },
};

function parseOne<K extends keyof EdgeSettings>(
  name: K,
  read: SettingsReader,
  problems: SettingsProblem[],
): EdgeSettings[K] {
  const { key, parse } = EDGE_SETTING_KEYS[name];
  const value = read(key);
  if (value === null) return DEFAULT_EDGE_SETTINGS[name];
  try {
    return parse(value);
  } catch (error) {
    if (!(error instanceof BadSetting)) throw error;
    problems.push({ key, value, message: `${key}: ${error.message}; using the built-in default` });
    return DEFAULT_EDGE_SETTINGS[name];
  }
}

export function parseEdgeSettings(read: SettingsReader): ParsedEdgeSettings {
  const problems: SettingsProblem[] = [];
  const settings: EdgeSettings = {
    realtimePaths: parseOne('realtimePaths', read, problems),
    popBackends: parseOne('popBackends', read, problems),
    cacheTtlOverrides: parseOne('cacheTtlOverrides', read, problems),
    passRequestHeaders: parseOne('passRequestHeaders', read, problems),
    passPaths: parseOne('passPaths', read, problems),
    stripQueryPaths: parseOne('stripQueryPaths', read, problems),
  };
  return { settings, problems };
}
