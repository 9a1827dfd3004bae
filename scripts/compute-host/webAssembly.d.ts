// The WebAssembly JS API as Node 20 provides it. The Node tsconfig has no DOM lib (where TypeScript
// declares these), so the few parts the compute host uses are declared here.
export {};

declare global {
  namespace WebAssembly {
    type ImportValue = ((...args: number[]) => number) | Function | Memory;
    type Imports = Record<string, Record<string, ImportValue>>;
    interface ModuleImportDescriptor {
      module: string;
      name: string;
      kind: 'function' | 'table' | 'memory' | 'global';
    }
    interface ModuleExportDescriptor {
      name: string;
      kind: 'function' | 'table' | 'memory' | 'global';
    }
    class Module {
      constructor(bytes: ArrayBufferView | ArrayBuffer);
      static imports(module: Module): ModuleImportDescriptor[];
      static exports(module: Module): ModuleExportDescriptor[];
    }
    class Instance {
      constructor(module: Module, imports?: Imports);
      readonly exports: Record<string, unknown>;
    }
    class Memory {
      readonly buffer: ArrayBuffer;
    }
    class RuntimeError extends Error {}
    class CompileError extends Error {}
    function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
  }
}
