/**
 * Evaluate a CommonJS bundle with real `require` semantics, without leaving it in `require.cache`:
 * each generation's module object becomes garbage once nothing references its exports.
 * @module
 */
import Module from 'node:module'
import { dirname } from 'node:path'
import { GENERATION_KEY } from './bundler.js'
import { GLOBAL_BINDINGS, type ScopeBindings } from './scope.js'

interface ModuleInternals {
  [GENERATION_KEY]?: ScopeBindings
  filename: string
  paths: string[]
  exports: Record<string, unknown>
  _compile(code: string, filename: string): void
}

interface ModuleStatics {
  new (id: string, parent?: unknown): ModuleInternals
  _nodeModulePaths(dir: string): string[]
}

/**
 * Run `code` as the CommonJS module `filename` (which need not exist on disk) and return its
 * exports. `bindings` are the timers and `import.meta.hot` the bundle's code sees. Throws whatever
 * the module throws while evaluating.
 */
export function evaluateBundle(
  code: string,
  filename: string,
  bindings: ScopeBindings = GLOBAL_BINDINGS,
): Record<string, unknown> {
  const Ctor = Module as unknown as ModuleStatics
  const mod = new Ctor(filename)
  mod[GENERATION_KEY] = bindings
  mod.filename = filename
  mod.paths = Ctor._nodeModulePaths(dirname(filename))
  // Module#_compile is what `require` itself uses: it wires `require`, `module`, `__filename`,
  // and registers the inline source map when source maps are enabled.
  mod._compile(code, filename)
  return mod.exports
}
