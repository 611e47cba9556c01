/**
 * The reactor registry: names map to lazily imported factories (uvicorn's `auto.py` pattern), so
 * uWebSockets.js is only loaded when asked for. `auto` prefers uWS and falls back to node, with a
 * warning, when the native binary is not what got loaded.
 * @module
 */
import type { Reactor, ReactorFactory, ReactorName, ReactorOptions } from './types.js'
import type { LoadedUws, UwsReactor } from './uws.js'

/** Every reactor by name, imported on first use. */
export const REACTORS: Record<ReactorName, () => Promise<ReactorFactory>> = {
  uws: async () => (await import('./uws.js')).createUwsReactor,
  node: async () => (await import('./node.js')).createNodeReactor,
}

/** The names `createReactor` accepts: a reactor, or `auto`. */
export type ReactorChoice = 'auto' | ReactorName

/** A created reactor, and the warning to print when `auto` had to fall back. */
export interface CreatedReactor {
  reactor: Reactor
  warning?: string
}

/**
 * Create a reactor by name. `auto` tries uWS and keeps it only when its native binary loaded;
 * otherwise (JS fallback, or the module failed to load) it returns the node reactor and a warning.
 * An explicit `uws` is honoured even on the JS fallback; its `engine` says so. `deps.loadUws` is
 * a test seam for the loader.
 */
export async function createReactor(
  name: ReactorChoice,
  options: ReactorOptions,
  deps: { loadUws?: () => LoadedUws } = {},
): Promise<CreatedReactor> {
  if (name !== 'auto') {
    if (!Object.hasOwn(REACTORS, name)) {
      throw new TypeError(`Unknown reactor '${name}' (expected auto, uws or node)`)
    }
    if (name === 'node') return { reactor: (await REACTORS.node())(options) }
    const { getUws, UwsReactor } = await import('./uws.js')
    return explicitUws(new UwsReactor(options, (deps.loadUws ?? getUws)()))
  }
  let reason: string
  try {
    const { getUws, UwsReactor } = await import('./uws.js')
    const loaded = (deps.loadUws ?? getUws)()
    if (loaded.native) return { reactor: new UwsReactor(options, loaded) }
    reason = loaded.reason ?? 'its JS fallback was loaded'
  } catch (error) {
    reason = (error as Error).message
  }
  const reactor = (await REACTORS.node())(options)
  const warning =
    `uWebSockets.js native binary unavailable (${reason}); ` +
    `using the node reactor (${reactor.engine})`
  return { reactor, warning }
}

/** An explicitly chosen uWS reactor, with a warning when it runs on the JS fallback. */
function explicitUws(reactor: UwsReactor): CreatedReactor {
  if (reactor.native) return { reactor }
  return { reactor, warning: `uWebSockets.js is running on its JS fallback (${reactor.engine})` }
}
