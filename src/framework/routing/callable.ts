import type { Receive, Scope, Send } from '../asgi/types.js'

/**
 * Instances of an `AsgiCallable` subclass are ASGI applications: `new Router(...)` returns a
 * function (call it as `app(scope, receive, send)`) whose prototype is the subclass's, so
 * `instanceof`, fields and methods all work. Subclasses implement {@link AsgiCallable.asgi}.
 */
// The interface gives instances the call signature that the constructor below makes real.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see above
export interface AsgiCallable {
  (scope: Scope, receive: Receive, send: Send): Promise<void>
}

/** Base class for routers (and any class-based app): JavaScript instances are not callable. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface
export abstract class AsgiCallable {
  constructor() {
    // A derived constructor's `this` becomes whatever the base constructor returns, so
    // subclass fields land on this function.
    const app: AsgiCallable = ((scope: Scope, receive: Receive, send: Send) =>
      app.asgi(scope, receive, send)) as AsgiCallable
    Object.setPrototypeOf(app, new.target.prototype)
    Object.defineProperty(app, 'name', { value: new.target.name, configurable: true })
    return app
  }

  /** Handles one connection: what calling the instance does. */
  abstract asgi(scope: Scope, receive: Receive, send: Send): Promise<void>
}

// Instances are real functions: keep call/apply/bind and `instanceof Function` working.
Object.setPrototypeOf(AsgiCallable.prototype, Function.prototype)
