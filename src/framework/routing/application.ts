import type { AnyApplication } from '../asgi/types.js'
import { describeValue } from '../../util/describe.js'

/**
 * Any application a router can hold. Scope typing is the inner app's business (Channels is
 * untyped here); `_path_routing = true` marks an app that routes on `path_remaining` itself.
 */
export type RoutedApplication = AnyApplication & { _path_routing?: boolean }

/**
 * Throws a TypeError unless `app` can be called as an ASGI application. Routers check at
 * construction, so a wiring mistake fails at startup instead of on the first connection.
 */
export function assertApplication(app: unknown, what: string): asserts app is RoutedApplication {
  if (typeof app !== 'function') {
    const hint = Array.isArray(app) ? ' To nest routes, wrap them in new URLRouter([...]).' : ''
    throw new TypeError(
      `${what} must be an ASGI application (a function), got ${describeValue(app)}.${hint}`,
    )
  }
  // A consumer class passed without .asAsgi() is a function too, but calling it throws
  // "Class constructor cannot be invoked without 'new'" on the first connection.
  if (Function.prototype.toString.call(app).startsWith('class')) {
    const name = app.name || 'anonymous'
    const hint =
      typeof (app as { asAsgi?: unknown }).asAsgi === 'function'
        ? `pass ${name}.asAsgi(), not the class itself.`
        : 'pass an application function, not a class.'
    throw new TypeError(`${what} must be an ASGI application, got the class ${name}: ${hint}`)
  }
}
