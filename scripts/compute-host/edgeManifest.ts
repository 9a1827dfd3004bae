// A temporary copy of fastly.toml for the local Compute host, with the backends pointed where this run
// put them (the origin on a free port in tests, extra test backends), so the host reads the same
// manifest format the Fastly CLI hands Viceroy.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { ManifestError } from '../shared/fastlyManifest.ts';

export interface EdgeBackendOverride {
  url: string;
  overrideHost?: string;
}

type Table = Record<string, unknown>;

const isTable = (value: unknown): value is Table => typeof value === 'object' && value !== null && !Array.isArray(value);

function child(parent: Table, key: string): Table {
  const value = parent[key];
  if (isTable(value)) return value;
  const created: Table = {};
  parent[key] = created;
  return created;
}

export interface ManifestOverrides {
  /** Added or replaced backends. */
  backends: Record<string, EdgeBackendOverride>;
  /** Config store entries set over the manifest's (store -> key -> value). */
  configStores?: Record<string, Record<string, string>>;
  /**
   * Settings to leave out, as dotted names (`local_server.kv_stores`): those the host ignores, which
   * the caller has already warned about (LocalManifest.unsupported), so the host does not warn again
   * naming this copy.
   */
  omit?: string[];
}

function omitSetting(doc: Table, dotted: string): void {
  const path = dotted.split('.');
  const last = path.pop();
  let table: unknown = doc;
  for (const key of path) table = isTable(table) ? table[key] : undefined;
  if (isTable(table) && last !== undefined) delete table[last];
}

/** Returns the manifest text with the overrides applied; store file paths made absolute. */
export function rewriteManifest(text: string, baseDir: string, overrides: ManifestOverrides): string {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (error) {
    throw new ManifestError(`fastly.toml is not valid TOML: ${(error as Error).message}`);
  }
  for (const dotted of overrides.omit ?? []) omitSetting(doc, dotted);
  const localServer = child(doc, 'local_server');
  const table = child(localServer, 'backends');
  for (const [name, backend] of Object.entries(overrides.backends)) {
    table[name] = { url: backend.url, ...(backend.overrideHost ? { override_host: backend.overrideHost } : {}) };
  }
  for (const key of ['config_stores', 'dictionaries']) {
    const stores = localServer[key];
    if (!isTable(stores)) continue;
    for (const store of Object.values(stores)) {
      if (isTable(store) && typeof store.file === 'string' && !isAbsolute(store.file)) store.file = resolve(baseDir, store.file);
    }
  }
  const stores = child(localServer, 'config_stores');
  for (const [name, entries] of Object.entries(overrides.configStores ?? {})) {
    const store = child(stores, name);
    if (store.format === 'json' && typeof store.file === 'string') {
      const fromFile = JSON.parse(readFileSync(store.file, 'utf8')) as Record<string, string>;
      delete store.file;
      store.contents = { ...fromFile };
    }
    store.format = 'inline-toml';
    store.contents = { ...(isTable(store.contents) ? store.contents : {}), ...entries };
  }
  return stringifyToml(doc);
}

export function writeEdgeManifest(sourcePath: string, targetPath: string, overrides: ManifestOverrides): string {
  const text = readFileSync(sourcePath, 'utf8');
  writeFileSync(targetPath, rewriteManifest(text, dirname(resolve(sourcePath)), overrides));
  return targetPath;
}
