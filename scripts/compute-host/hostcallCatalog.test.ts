// Every import of the wasm js-compute-runtime builds must be implemented or deliberately stubbed here:
// a runtime upgrade that adds a hostcall fails this test instead of failing requests later.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EDGE_WASM } from './edgeBuild.ts';
import { createFastlyImports } from './guestImports.ts';
import { GuestMemory } from './guestMemory.ts';
import { STUBBED_HOSTCALLS, WASI_MODULE } from './hostcallCatalog.ts';
import { createWasiImports } from './wasiPreview1.ts';

const implemented = createFastlyImports({
  mem: new GuestMemory(),
  config: { backends: [], configStores: {}, dictionaries: {}, env: {}, traceHostcalls: false },
  link: { call: () => ({ status: 0 }) },
  clientGone: () => false,
      session: () => {
    throw new Error('not in a request');
  },
});
const wasi = createWasiImports(new GuestMemory(), [], () => ({})) as Record<string, unknown>;

describe('the hostcalls of bin/main.wasm (js-compute-runtime)', () => {
  // Built by the test global setup when stale.
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(EDGE_WASM)));

  it('are all implemented or deliberately stubbed', () => {
    const unknown = imports
      .filter(({ module, name }) =>
        module === WASI_MODULE ? typeof wasi[name] !== 'function' : !implemented[module]?.[name] && !STUBBED_HOSTCALLS[module]?.includes(name),
      )
      .map(({ module, name }) => `${module}.${name}`);
    expect(unknown, 'new imports: implement them in guestImports.ts or list them in hostcallCatalog.ts').toEqual([]);
  });

  it('are all functions', () => {
    expect(imports.filter((i) => i.kind !== 'function')).toEqual([]);
  });

  it('never both implement and stub a hostcall, and name no hostcall the module does not import', () => {
    const imported = new Set(imports.map(({ module, name }) => `${module}.${name}`));
    const both = Object.entries(STUBBED_HOSTCALLS).flatMap(([module, names]) => names.filter((n) => implemented[module]?.[n]));
    expect(both).toEqual([]);
    const listed = [
      ...Object.entries(implemented).flatMap(([module, fns]) => Object.keys(fns).map((n) => `${module}.${n}`)),
      ...Object.entries(STUBBED_HOSTCALLS).flatMap(([module, names]) => names.map((n) => `${module}.${n}`)),
    ];
    expect(listed.filter((name) => !imported.has(name))).toEqual([]);
  });
});
