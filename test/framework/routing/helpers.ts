import type { Application, Receive, Scope, Send } from '../../../src/framework/asgi/types.js'

/** Channels' MockApplication: returns a fixed value and records its last call. */
export interface MockApplication extends Application {
  callArgs: [scope: Record<string, unknown>, receive: Receive, send: Send] | undefined
}

export function mockApplication(returnValue: unknown): MockApplication {
  const app = (async (scope: Record<string, unknown>, receive: Receive, send: Send) => {
    app.callArgs = [scope, receive, send]
    return returnValue
  }) as unknown as MockApplication
  app.callArgs = undefined
  return app
}

export const receive: Receive = () => Promise.reject(new Error('receive() is not used here'))
export const send: Send = () => Promise.resolve()

/** Calls an app with a partial scope (as the Python tests do) and returns what it returned. */
export function call(app: Application, scope: Record<string, unknown>): Promise<unknown> {
  return app(scope as unknown as Scope, receive, send)
}

/** The url_route the mock app last saw. */
export function urlRoute(app: MockApplication): unknown {
  return app.callArgs?.[0].url_route
}
