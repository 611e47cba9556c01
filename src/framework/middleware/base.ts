/**
 * Channels' `BaseMiddleware`: wraps an application and is itself one.
 * @module
 */
import { ScopeCopier } from '../asgi/scope-copy.js'
import type { AnyApplication, Receive, Scope, Send } from '../asgi/types.js'
import { AsgiCallable } from '../routing/callable.js'
import { assertApplication, type RoutedApplication } from '../routing/application.js'

/** The scope copy the default `asgi` passes down (see asgi/scope-copy.ts). */
const SCOPE = new ScopeCopier([])

/**
 * Base class for middleware: `new X(inner)` returns a callable ASGI application that copies the
 * scope (`{ ...scope }`, so changes never leak to outer layers) and calls `inner`. One instance
 * serves every connection: keep per-connection state in the scope or in locals, never on `this`.
 */
export class BaseMiddleware extends AsgiCallable {
  /** The wrapped application. */
  declare readonly inner: RoutedApplication

  constructor(inner: AnyApplication) {
    super()
    assertApplication(inner, `${new.target.name}'s inner application`)
    Object.defineProperty(this, 'inner', { value: inner, enumerable: true })
  }

  /**
   * Mirrors the inner app's `_path_routing`, so `path()` routes that nest a URLRouter keep
   * matching as prefixes when middleware sits between the two routers
   * (https://github.com/django/channels/issues/1428).
   */
  get _path_routing(): boolean {
    return this.inner._path_routing === true
  }

  /** Handles one connection; subclasses override this and end with `super.asgi(...)`. */
  asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    // Not async: the inner app's promise is returned as is (no frame kept per connection).
    try {
      return this.inner(SCOPE.copy(scope), receive, send)
    } catch (error) {
      return Promise.reject(error)
    }
  }
}
