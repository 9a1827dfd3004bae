// The project's import graph, read from the source files themselves: every static, type-only, re-export
// and dynamic `import('…')` of a relative path, plus the package's own name (`fanout-forward/client`).
// Specifiers are read with TypeScript's own pre-processor, so strings and comments that merely look like
// imports do not count. Beside them, the files a module names by a relative `new URL(path,
// import.meta.url)` (a program it spawns, a worker it loads): a dependency as real as an import.
// Used by test/layout/layoutRules.test.ts to keep the layout's arrows pointing down.
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

/** Files whose imports the graph reads; anything else (JSON, CSS, wasm) is a leaf. */
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
/** Never part of the project's own source: installed, built or generated. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'bin', 'pkg', '.git', 'bench-results', 'target']);

export interface ImportEdge {
  from: string;
  /** Project-relative path, posix separators. */
  to: string;
  /** `import`: any import or re-export; `url`: a path named by `new URL(…, import.meta.url)`. */
  kind: 'import' | 'url';
}

export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
}

/** Whether a project-relative path is where a source file would be (not installed or built output). */
export function isSourcePath(path: string): boolean {
  const parts = path.split('/');
  return SOURCE.test(path) && !parts.some((part) => SKIPPED_DIRS.has(part) || part.startsWith('.'));
}

/** Every source file below `root`, project-relative with posix separators. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) walk(join(dir, entry.name));
      } else if (entry.isFile() && SOURCE.test(entry.name)) {
        out.push(relative(root, join(dir, entry.name)).split(sep).join('/'));
      }
    }
  };
  walk(root);
  return out.sort();
}

/** The module specifiers `source` imports, re-exports or dynamically imports. */
export function importSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

const URL_REFERENCE = /new URL\(\s*(['"`])(\.{1,2}\/[^'"`$]*)\1\s*,\s*import\.meta\.url\s*\)/g;

/** The relative paths (`./…`, `../…`) that `source` names by `new URL(path, import.meta.url)`. */
export function urlReferences(source: string): string[] {
  return [...source.matchAll(URL_REFERENCE)].map((match) => match[2]!);
}

/** Where a specifier written in `from` points inside the project, or undefined for a package. */
export function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (specifier === 'fanout-forward/client' || specifier.startsWith('fanout-forward/client/')) return 'client/index.ts';
  if (!specifier.startsWith('.')) return undefined;
  return posix.normalize(posix.join(posix.dirname(from), specifier));
}

export function importGraph(root: string): ImportGraph {
  const files = sourceFiles(root);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const source = readFileSync(join(root, from), 'utf8');
    for (const specifier of importSpecifiers(source)) {
      const to = resolveSpecifier(from, specifier);
      if (to !== undefined) edges.push({ from, to, kind: 'import' });
    }
    for (const reference of urlReferences(source)) {
      edges.push({ from, to: resolveSpecifier(from, reference)!.replace(/\/$/, ''), kind: 'url' });
    }
  }
  return { files, edges };
}

/**
 * The area a file belongs to for folder-level rules: its top folder and the folder below it
 * (`scripts/stack`, `origin/access`), or `<top>/(root)` for a file directly in a top folder. Deeper
 * folders belong to their area (`scripts/bench/chat` is `scripts/bench`).
 */
export function areaOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return '(root)';
  return parts.length === 2 ? `${parts[0]}/(root)` : `${parts[0]}/${parts[1]}`;
}

/**
 * The strongly connected components of more than one node (or a node importing itself): each is a set of
 * nodes that import one another in a circle. Tarjan's algorithm; nodes and members sorted for stable output.
 */
export function cycles(edges: readonly { from: string; to: string }[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, []);
    if (!next.has(to)) next.set(to, []);
    next.get(from)!.push(to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node)!) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const members: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        members.push(member);
      } while (member !== node);
      if (members.length > 1 || next.get(node)!.includes(node)) found.push(members.sort());
    }
  };
  for (const node of [...next.keys()].sort()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}
