// A temporary copy of fastly.toml for the local Compute host, with the backends pointed where this run
// put them (the origin on a free port in tests, extra test backends), so the host reads the same
// manifest format the Fastly CLI hands Viceroy.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { ManifestError } from '../stack/fastlyManifest.ts';

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

/** Returns the manifest text with `backends` set (added or replaced); store file paths made absolute. */
export function rewriteManifest(text: string, baseDir: string, backends: Record<string, EdgeBackendOverride>): string {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (error) {
    throw new ManifestError(`fastly.toml is not valid TOML: ${(error as Error).message}`);
  }
  const localServer = child(doc, 'local_server');
  const table = child(localServer, 'backends');
  for (const [name, backend] of Object.entries(backends)) {
    table[name] = { url: backend.url, ...(backend.overrideHost ? { override_host: backend.overrideHost } : {}) };
  }
  for (const key of ['config_stores', 'dictionaries']) {
    const stores = localServer[key];
    if (!isTable(stores)) continue;
    for (const store of Object.values(stores)) {
      if (isTable(store) && typeof store.file === 'string' && !isAbsolute(store.file)) store.file = resolve(baseDir, store.file);
    }
  }
  return stringifyToml(doc);
}

export function writeEdgeManifest(sourcePath: string, targetPath: string, backends: Record<string, EdgeBackendOverride>): string {
  const text = readFileSync(sourcePath, 'utf8');
  writeFileSync(targetPath, rewriteManifest(text, dirname(resolve(sourcePath)), backends));
  return targetPath;
}
