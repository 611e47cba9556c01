import { describe, expect, it } from 'vitest'
import { ImproperlyConfigured } from '../../../src/framework/asgi/errors.js'
import type { Application } from '../../../src/framework/asgi/types.js'
import { path, rePath, URLRoute, URLRouter } from '../../../src/framework/routing/index.js'
import { call, mockApplication, urlRoute } from './helpers.js'

describe('path() and rePath()', () => {
  it("build URLRoute objects with Django's attributes", () => {
    const app = mockApplication(1)
    const route = path('chat/<room>/', app, { kwargs: { a: 1 }, name: 'chat' })
    expect(route).toBeInstanceOf(URLRoute)
    expect(route.callback).toBe(app)
    expect(route.defaultArgs).toEqual({ a: 1 })
    expect(route.name).toBe('chat')
    expect(String(route)).toBe("<URLRoute 'chat/<room>/'>")
    expect(String(rePath(/^x$/, app))).toBe("<URLRoute '^x$'>")
  })

  it('copy the default kwargs, so later edits do not change routing', async () => {
    const app = mockApplication(1)
    const defaults: Record<string, unknown> = { a: 1 }
    const router = new URLRouter([path('x/', app, { kwargs: defaults })])
    defaults.a = 2
    await call(router, { type: 'http', path: '/x/' })
    expect(urlRoute(app)).toEqual({ args: [], kwargs: { a: 1 } })
  })

  it('reject an app that is not a function', () => {
    expect(() => path('x/', 'consumer' as never)).toThrow(
      new TypeError('path() app must be an ASGI application (a function), got a string.'),
    )
    expect(() => rePath('x', undefined as never)).toThrow(
      new TypeError('rePath() app must be an ASGI application (a function), got undefined.'),
    )
    expect(() => path('x/', [path('y/', mockApplication(1))] as never)).toThrow(
      'got an array. To nest routes, wrap them in new URLRouter([...]).',
    )
  })

  it('reject a consumer class passed without asAsgi()', () => {
    class ChatConsumer {
      static asAsgi(): Application {
        return mockApplication(1)
      }
    }
    expect(() => path('chat/', ChatConsumer as never)).toThrow(
      new TypeError(
        'path() app must be an ASGI application, got the class ChatConsumer: ' +
          'pass ChatConsumer.asAsgi(), not the class itself.',
      ),
    )
  })

  it('reject bad options', () => {
    const app = mockApplication(1)
    // Django's positional kwargs dict, passed where our options go.
    expect(() => path('x/', app, { default: 42 } as never)).toThrow(
      new TypeError(
        "path() got an unknown option 'default'; default kwargs go in { kwargs: { ... } }.",
      ),
    )
    // From JavaScript: the types refuse an array here.
    const arrayKwargs: unknown = { kwargs: [1] }
    expect(() => rePath('x', app, arrayKwargs as never)).toThrow(
      new TypeError('kwargs argument must be an object, but got an array.'),
    )
    expect(() => path('x/', app, { kwargs: null } as never)).toThrow(
      new TypeError('kwargs argument must be an object, but got null.'),
    )
    expect(() => path('x/', app, { name: 5 } as never)).toThrow(
      new TypeError('path() name must be a string, got a number.'),
    )
    expect(() => path('x/', app, null as never)).toThrow(TypeError)
  })

  it('reject a bad pattern before looking at the app', () => {
    expect(() => path('<bad:x>/', mockApplication(1))).toThrow(ImproperlyConfigured)
    expect(() => rePath('(', mockApplication(1))).toThrow(ImproperlyConfigured)
  })
})
