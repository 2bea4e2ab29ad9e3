// The part of the WebAssembly JS API the kernel loader uses. TypeScript ships these types only
// in its DOM library, and @types/node 20 does not declare them.
declare namespace WebAssembly {
  class Module {
    constructor (bytes: Uint8Array)
  }
  class Instance {
    constructor (module: Module, imports?: Record<string, Record<string, unknown>>)
    readonly exports: Record<string, unknown>
  }
  class Memory {
    readonly buffer: ArrayBuffer
  }
}
