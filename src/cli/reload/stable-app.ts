/**
 * The one application the server ever sees during runserver: each new connection is routed to
 * the newest generation; a connection already open keeps the instance it started with.
 * @module
 */
import type { Application } from '../../asgi/types.js'

/** An Application that forwards every new connection to `current()`. */
export function createStableApplication(current: () => Application): Application {
  return (scope, receive, send) => current()(scope, receive, send)
}
