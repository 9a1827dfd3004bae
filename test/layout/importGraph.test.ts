import { describe, expect, it } from 'vitest';
import { areaOf, cycles, importSpecifiers, resolveSpecifier, urlReferences } from './importGraph.ts';

describe('import graph', () => {
  it('reads static, type-only, re-export, side-effect and dynamic imports, and no look-alikes', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      "export { c } from './c.ts';",
      "export * from './d.ts';",
      "import './e.mjs';",
      'const f = await import(`./f.ts`);',
      "// import { g } from './g.ts';",
      "const text = \"import { h } from './h.ts'\";",
      "import { parse } from 'smol-toml';",
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(['./a.ts', '../b.ts', './c.ts', './d.ts', './e.mjs', './f.ts', 'smol-toml']);
  });

  it('reads the relative paths named by new URL(…, import.meta.url)', () => {
    // Put together, so that this file does not itself name ./keeper.mjs for the layout rules.
    const url = (path: string, base = 'import.meta.url') => `new URL(${path}, ${base})`;
    const source = `const A = ${url("'./keeper.mjs'")};\nconst B = ${url("'../../x/y.ts'")};\n${url("'https://example.com/'", 'base')};`;
    expect(urlReferences(source)).toEqual(['./keeper.mjs', '../../x/y.ts']);
  });

  it('resolves relative specifiers and the package name, and leaves other packages out', () => {
    expect(resolveSpecifier('scripts/stack/localStack.ts', '../shared/ports.ts')).toBe('scripts/shared/ports.ts');
    expect(resolveSpecifier('test/client/clientPackage.test.ts', 'fanout-forward/client')).toBe('client/index.ts');
    expect(resolveSpecifier('origin/app.ts', 'express')).toBeUndefined();
  });

  it('finds every circle, of two files, of three, and a file importing itself; a chain is none', () => {
    const edges = [
      ['a', 'b'], ['b', 'a'],
      ['c', 'd'], ['d', 'e'], ['e', 'c'],
      ['f', 'f'],
      ['g', 'h'], ['h', 'i'], ['a', 'g'],
    ].map(([from, to]) => ({ from: from!, to: to! }));
    expect(cycles(edges)).toEqual([['a', 'b'], ['c', 'd', 'e'], ['f']]);
    expect(cycles(edges.filter((edge) => edge.from === 'g' || edge.from === 'h'))).toEqual([]);
  });

  it('groups files by top folder and the folder below it', () => {
    expect(areaOf('scripts/bench/chat/chatCase.ts')).toBe('scripts/bench');
    expect(areaOf('scripts/start.ts')).toBe('scripts/(root)');
    expect(areaOf('vitest.config.ts')).toBe('(root)');
  });
});
