// Reads the parts of fastly.toml that `fastly compute serve` uses locally: backends, Pushpin settings,
// config stores and dictionaries. The local harness and the local Compute host both start here, so the
// manifest stays the single source of truth, as it is for the Fastly CLI.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';

export interface ManifestBackend {
  name: string;
  url: URL;
  overrideHost?: string;
}

export interface ManifestPushpin {
  enable: boolean;
  pushpinPath?: string;
  proxyPort: number;
  publishPort: number;
}

export interface LocalManifest {
  name: string;
  backends: ManifestBackend[];
  pushpin: ManifestPushpin;
  /** Store name -> key -> value, for both config stores and (legacy) dictionaries. */
  configStores: Record<string, Record<string, string>>;
  dictionaries: Record<string, Record<string, string>>;
  /**
   * Settings under [local_server] that Viceroy or the Fastly CLI know and the local harness and Compute
   * host ignore (or that nothing knows, a typo say), as dotted names: `local_server.kv_stores`,
   * `local_server.backends.origin.cert_host`. See unsupportedSettingsWarning.
   */
  unsupported: string[];
}

export const DEFAULT_PUSHPIN_PROXY_PORT = 7677;
export const DEFAULT_PUSHPIN_PUBLISH_PORT = 5561;

export class ManifestError extends Error {
  override name = 'ManifestError';
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function table(parent: Table, key: string, where: string): Table {
  const value = parent[key];
  if (value === undefined) return {};
  if (!isTable(value)) throw new ManifestError(`${where}.${key} must be a table`);
  return value;
}

function port(value: unknown, where: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new ManifestError(`${where} must be a port number (1-65535), got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseBackends(localServer: Table): ManifestBackend[] {
  const backends = table(localServer, 'backends', 'local_server');
  return Object.entries(backends).map(([name, raw]) => {
    const where = `local_server.backends.${name}`;
    if (!isTable(raw)) throw new ManifestError(`${where} must be a table`);
    if (typeof raw.url !== 'string') throw new ManifestError(`${where}.url must be a string URL`);
    let url: URL;
    try {
      url = new URL(raw.url);
    } catch {
      throw new ManifestError(`${where}.url is not a valid URL: ${raw.url}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ManifestError(`${where}.url must be http or https: ${raw.url}`);
    }
    const backend: ManifestBackend = { name, url };
    if (raw.override_host !== undefined) {
      if (typeof raw.override_host !== 'string' || raw.override_host === '') {
        throw new ManifestError(`${where}.override_host must be a non-empty string`);
      }
      backend.overrideHost = raw.override_host;
    }
    return backend;
  });
}

/** What the local harness and Compute host read from [local_server]; the rest is reported. */
const SUPPORTED_LOCAL_SERVER = new Set(['backends', 'pushpin', 'config_stores', 'dictionaries']);
/** Read by the Fastly CLI itself, not by Viceroy: nothing for a local Viceroy to support. */
const FASTLY_CLI_LOCAL_SERVER = new Set(['viceroy_version', 'websockets_passthrough']);
const SUPPORTED_BACKEND_KEYS = new Set(['url', 'override_host']);

function findUnsupported(localServer: Table): string[] {
  const found: string[] = [];
  for (const key of Object.keys(localServer)) {
    if (!SUPPORTED_LOCAL_SERVER.has(key) && !FASTLY_CLI_LOCAL_SERVER.has(key)) found.push(`local_server.${key}`);
  }
  const backends = localServer.backends;
  if (isTable(backends)) {
    for (const [name, backend] of Object.entries(backends)) {
      if (!isTable(backend)) continue;
      for (const key of Object.keys(backend)) {
        if (!SUPPORTED_BACKEND_KEYS.has(key)) found.push(`local_server.backends.${name}.${key}`);
      }
    }
  }
  return found;
}

/**
 * One warning naming every setting in the manifest that the local harness and Compute host do not
 * support, or undefined when there is none. For `npm start` and the local Compute host to print at
 * start, so a KV store or an ACL the edge relies on is not silently missing locally.
 */
export function unsupportedSettingsWarning(manifest: Pick<LocalManifest, 'unsupported'>, manifestPath = 'fastly.toml'): string | undefined {
  if (manifest.unsupported.length === 0) return undefined;
  return (
    `warning: ${manifestPath} has settings the local stack does not support and ignores: ${manifest.unsupported.join(', ')}. ` +
    'Locally supported: [local_server.backends] (url, override_host), [local_server.config_stores], ' +
    '[local_server.dictionaries], [local_server.pushpin]. Use `fastly compute serve` with a real Viceroy for the rest.'
  );
}

function parsePushpin(localServer: Table, baseDir: string): ManifestPushpin {
  const raw = table(localServer, 'pushpin', 'local_server');
  const where = 'local_server.pushpin';
  if (raw.enable !== undefined && typeof raw.enable !== 'boolean') {
    throw new ManifestError(`${where}.enable must be true or false`);
  }
  if (raw.pushpin_path !== undefined && typeof raw.pushpin_path !== 'string') {
    throw new ManifestError(`${where}.pushpin_path must be a string`);
  }
  return {
    enable: raw.enable === true,
    // Relative to the manifest's directory, which is where the Fastly CLI runs from (it resolves it
    // against its working directory, after changing into the project directory).
    ...(typeof raw.pushpin_path === 'string' && raw.pushpin_path !== '' ? { pushpinPath: resolve(baseDir, raw.pushpin_path) } : {}),
    proxyPort: port(raw.proxy_port, `${where}.proxy_port`, DEFAULT_PUSHPIN_PROXY_PORT),
    publishPort: port(raw.publish_port, `${where}.publish_port`, DEFAULT_PUSHPIN_PUBLISH_PORT),
  };
}

function stringValues(contents: unknown, where: string): Record<string, string> {
  if (!isTable(contents)) throw new ManifestError(`${where} must be a table of strings`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(contents)) {
    if (typeof value !== 'string') throw new ManifestError(`${where}.${key} must be a string`);
    out[key] = value;
  }
  return out;
}

/** Parses `[local_server.config_stores]` or `[local_server.dictionaries]`: inline-toml or a JSON file. */
function parseStores(localServer: Table, key: string, baseDir: string): Record<string, Record<string, string>> {
  const stores = table(localServer, key, 'local_server');
  const out: Record<string, Record<string, string>> = {};
  for (const [name, raw] of Object.entries(stores)) {
    const where = `local_server.${key}.${name}`;
    if (!isTable(raw)) throw new ManifestError(`${where} must be a table`);
    const format = raw.format ?? 'inline-toml';
    if (format === 'inline-toml') {
      out[name] = stringValues(raw.contents ?? {}, `${where}.contents`);
    } else if (format === 'json') {
      if (typeof raw.file !== 'string') throw new ManifestError(`${where}.file must name a JSON file`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(resolve(baseDir, raw.file), 'utf8'));
      } catch (error) {
        throw new ManifestError(`${where}.file could not be read as JSON: ${(error as Error).message}`);
      }
      out[name] = stringValues(parsed, `${where} (${raw.file})`);
    } else {
      throw new ManifestError(`${where}.format must be "inline-toml" or "json", got ${JSON.stringify(format)}`);
    }
  }
  return out;
}

export function parseManifest(text: string, baseDir = '.'): LocalManifest {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (error) {
    throw new ManifestError(`fastly.toml is not valid TOML: ${(error as Error).message}`);
  }
  const localServer = table(doc, 'local_server', 'manifest');
  return {
    name: typeof doc.name === 'string' ? doc.name : 'compute-app',
    backends: parseBackends(localServer),
    pushpin: parsePushpin(localServer, baseDir),
    configStores: parseStores(localServer, 'config_stores', baseDir),
    dictionaries: parseStores(localServer, 'dictionaries', baseDir),
    unsupported: findUnsupported(localServer),
  };
}

export function readManifest(path: string): LocalManifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ManifestError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseManifest(text, dirname(resolve(path)));
}
