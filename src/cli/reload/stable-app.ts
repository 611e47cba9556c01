/**
 * The one application the server ever sees during runserver: each new connection is routed to
 * the newest generation; a connection already open keeps the instance it started with.
 * @module
 */
import type { Application, Scope } from '../../framework/asgi/types.js'
import type { Lease } from './generations.js'

/**
 * An Application that forwards every new connection to `current(scope)`: an application, or a
 * lease on a generation, released when the instance ends (so the generation can retire).
 */
export function createStableApplication(
  current: (scope: Scope) => Application | Lease,
): Application {
  return async (scope, receive, send) => {
    const target = current(scope)
    if (typeof target === 'function') return target(scope, receive, send)
    try {
      return await target.app(scope, receive, send)
    } finally {
      target.release()
    }
  }
}
