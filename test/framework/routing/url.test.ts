import { describe, expect, it } from 'vitest'
import {
  ImproperlyConfigured,
  Resolver404,
  RouteNotFound,
  ValueError,
} from '../../../src/framework/asgi/errors.js'
import type { Application } from '../../../src/framework/asgi/types.js'
import { include, path, rePath, URLRouter } from '../../../src/framework/routing/index.js'
import { call, mockApplication, urlRoute } from './helpers.js'

const noRoute = (p: string): ValueError => new RouteNotFound(`No route found for path '${p}'.`)

describe('URLRouter (ported from channels tests/test_routing.py)', () => {
  it('an outermost miss is a RouteNotFound, which is a ValueError (as Channels raises)', async () => {
    const router = new URLRouter([path('known/', mockApplication(1))])
    const error = await call(router, { type: 'http', path: '/unknown/' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RouteNotFound)
    expect(error).toBeInstanceOf(ValueError)
  })

  it('test_url_router', async () => {
    const posargApp = mockApplication(4)
    const kwargApp = mockApplication(5)
    const defaultkwargApp = mockApplication(6)
    const router = new URLRouter([
      path('', mockApplication(1)),
      path('foo/', mockApplication(2)),
      rePath('bar', mockApplication(3)),
      rePath(String.raw`^posarg/(\d+)/$`, posargApp),
      path('kwarg/<str:name>/', kwargApp),
      path('defaultkwargs/', defaultkwargApp, { kwargs: { default: 42 } }),
    ])
    // Valid basic matches
    expect(await call(router, { type: 'http', path: '/' })).toBe(1)
    expect(await call(router, { type: 'http', path: '/foo/' })).toBe(2)
    expect(await call(router, { type: 'http', path: '/bar/' })).toBe(3)
    expect(await call(router, { type: 'http', path: '/bar/baz/' })).toBe(3)
    // Valid positional matches
    expect(await call(router, { type: 'http', path: '/posarg/123/' })).toBe(4)
    expect(urlRoute(posargApp)).toEqual({ args: ['123'], kwargs: {} })
    expect(await call(router, { type: 'http', path: '/posarg/456/' })).toBe(4)
    expect(urlRoute(posargApp)).toEqual({ args: ['456'], kwargs: {} })
    // Valid keyword argument matches
    expect(await call(router, { type: 'http', path: '/kwarg/hello/' })).toBe(5)
    expect(urlRoute(kwargApp)).toEqual({ args: [], kwargs: { name: 'hello' } })
    expect(await call(router, { type: 'http', path: '/kwarg/hellothere/' })).toBe(5)
    expect(urlRoute(kwargApp)).toEqual({ args: [], kwargs: { name: 'hellothere' } })
    // Valid default keyword arguments
    expect(await call(router, { type: 'http', path: '/defaultkwargs/' })).toBe(6)
    expect(urlRoute(defaultkwargApp)).toEqual({ args: [], kwargs: { default: 42 } })
    // Valid root_path in scope
    expect(await call(router, { type: 'http', path: '/root/', root_path: '/root' })).toBe(1)
    expect(await call(router, { type: 'http', path: '/root/foo/', root_path: '/root' })).toBe(2)
    // Unmatched root_path in scope
    await expect(call(router, { type: 'http', path: '/', root_path: '/root' })).rejects.toThrow(
      noRoute('/'),
    )
    // Invalid matches
    await expect(call(router, { type: 'http', path: '/nonexistent/' })).rejects.toThrow(
      noRoute('nonexistent/'),
    )
  })

  it('test_url_router_nesting', async () => {
    const testApp = mockApplication(1)
    const innerRouter = new URLRouter([
      rePath(String.raw`^book/(?P<book>[\w\-]+)/page/(?P<page>\d+)/$`, testApp),
      rePath(String.raw`^test/(\d+)/$`, testApp),
    ])
    const outerRouter = new URLRouter([
      rePath(String.raw`^universe/(?P<universe>\d+)/author/(?P<author>\w+)/`, innerRouter),
      rePath(String.raw`^positional/(\w+)/`, innerRouter),
    ])
    expect(
      await call(outerRouter, {
        type: 'http',
        path: '/universe/42/author/andrewgodwin/book/channels-guide/page/10/',
      }),
    ).toBe(1)
    expect(urlRoute(testApp)).toEqual({
      args: [],
      kwargs: { book: 'channels-guide', author: 'andrewgodwin', page: '10', universe: '42' },
    })
    expect(await call(outerRouter, { type: 'http', path: '/positional/foo/test/3/' })).toBe(1)
    expect(urlRoute(testApp)).toEqual({ args: ['foo', '3'], kwargs: {} })
  })

  it('test_url_router_nesting_path', async () => {
    const testApp = mockApplication(1)
    const innerRouter = new URLRouter([path('test/<int:page>/', testApp)])

    // Some middleware which hides the fact that we have an inner URLRouter
    function asgiMiddleware(inner: Application): Application & { _path_routing: boolean } {
      const app: Application = (scope, receive, send) => inner(scope, receive, send)
      return Object.assign(app, { _path_routing: true })
    }

    const outerRouter = new URLRouter([path('number/<int:number>/', asgiMiddleware(innerRouter))])

    expect(await call(innerRouter, { type: 'http', path: '/test/3/' })).toBe(1)
    expect(await call(outerRouter, { type: 'http', path: '/number/42/test/3/' })).toBe(1)
    expect(urlRoute(testApp)).toEqual({ args: [], kwargs: { number: 42, page: 3 } })
    await expect(
      call(outerRouter, { type: 'http', path: '/number/42/test/3/bla/' }),
    ).rejects.toThrow(noRoute('number/42/test/3/bla/'))
    await expect(call(outerRouter, { type: 'http', path: '/number/42/blub/' })).rejects.toThrow(
      noRoute('number/42/blub/'),
    )
  })

  it('test_url_router_nesting_path without the middleware flag (issue #1428)', async () => {
    const testApp = mockApplication(1)
    const innerRouter = new URLRouter([path('test/<int:page>/', testApp)])
    const hiding: Application = (scope, receive, send) => innerRouter(scope, receive, send)
    const outerRouter = new URLRouter([path('number/<int:number>/', hiding)])
    // The route is an endpoint now, so the nested path cannot match: Channels' documented quirk.
    await expect(call(outerRouter, { type: 'http', path: '/number/42/test/3/' })).rejects.toThrow(
      noRoute('number/42/test/3/'),
    )
  })

  it('test_url_router_path', async () => {
    const kwargApp = mockApplication(3)
    const router = new URLRouter([
      path('', mockApplication(1)),
      path('foo/', mockApplication(2)),
      path('author/<name>/', kwargApp),
      path('year/<int:year>/', kwargApp),
    ])
    // Valid basic matches
    expect(await call(router, { type: 'http', path: '/' })).toBe(1)
    expect(await call(router, { type: 'http', path: '/foo/' })).toBe(2)
    // Named without typecasting
    expect(await call(router, { type: 'http', path: '/author/andrewgodwin/' })).toBe(3)
    expect(urlRoute(kwargApp)).toEqual({ args: [], kwargs: { name: 'andrewgodwin' } })
    // Named with typecasting
    expect(await call(router, { type: 'http', path: '/year/2012/' })).toBe(3)
    expect(urlRoute(kwargApp)).toEqual({ args: [], kwargs: { year: 2012 } })
    // Invalid matches
    await expect(call(router, { type: 'http', path: '/nonexistent/' })).rejects.toThrow(
      noRoute('nonexistent/'),
    )
  })

  it('test_path_remaining', async () => {
    const innerRouter = new URLRouter([path('no-match/', mockApplication(1))])
    const testApp = mockApplication(2)
    const outerRouter = new URLRouter([
      path('prefix/', innerRouter),
      path('prefix/stuff/', testApp),
    ])
    const outermostRouter = new URLRouter([path('', outerRouter)])

    expect(await call(outermostRouter, { type: 'http', path: '/prefix/stuff/' })).toBe(2)
    const rooted = (p: string): Promise<unknown> =>
      call(outermostRouter, { type: 'http', path: p, root_path: '/root' })
    expect(await rooted('/root/prefix/stuff/')).toBe(2)
    await expect(rooted('/root/root/prefix/stuff/')).rejects.toThrow(noRoute('root/prefix/stuff/'))
    await expect(rooted('/root/prefix/root/stuff/')).rejects.toThrow(noRoute('prefix/root/stuff/'))
  })

  it('test_invalid_routes', () => {
    expect(() => new URLRouter([path('', include([]))])).toThrow(
      new ImproperlyConfigured(
        'include() is not supported in URLRouter. Use nested URLRouter instances instead.',
      ),
    )
  })
})

describe('URLRouter scope handling', () => {
  it('gives the child a copy with path_remaining and leaves the parent scope alone', async () => {
    const app = mockApplication(1)
    const router = new URLRouter([rePath('^chat/', app)])
    const scope = { type: 'websocket', path: '/chat/lobby/', headers: [] }
    await call(router, scope)
    const child = app.callArgs?.[0]
    expect(child).not.toBe(scope)
    expect(child).toMatchObject({ type: 'websocket', path: '/chat/lobby/', headers: [] })
    expect(child?.path_remaining).toBe('lobby/')
    expect(scope).toEqual({ type: 'websocket', path: '/chat/lobby/', headers: [] })
  })

  it('strips every leading slash, like lstrip("/")', async () => {
    const router = new URLRouter([path('foo/', mockApplication(1))])
    expect(await call(router, { type: 'http', path: '///foo/' })).toBe(1)
  })

  it('strips root_path only in the outermost router', async () => {
    const app = mockApplication(1)
    const inner = new URLRouter([path('root/x/', app)])
    const outer = new URLRouter([path('a/', inner)])
    expect(await call(outer, { type: 'http', path: '/root/a/root/x/', root_path: '/root' })).toBe(1)
    expect(app.callArgs?.[0].root_path).toBe('/root')
  })

  it('treats an empty root_path as absent', async () => {
    const router = new URLRouter([path('foo/', mockApplication(1))])
    expect(await call(router, { type: 'http', path: '/foo/', root_path: '' })).toBe(1)
  })

  it('lets route kwargs defaults override captures, and inner kwargs override outer', async () => {
    const app = mockApplication(1)
    const inner = new URLRouter([path('<slug:id>/', app, { kwargs: { extra: true } })])
    const outer = new URLRouter([
      path('<slug:id>/<int:n>/', inner, { kwargs: { n: 'fixed', outer: 1 } }),
    ])
    await call(outer, { type: 'http', path: '/a/7/b/' })
    expect(urlRoute(app)).toEqual({
      args: [],
      kwargs: { id: 'b', n: 'fixed', outer: 1, extra: true },
    })
  })

  it('shares one frozen url_route between connections to a route that captured nothing', async () => {
    const app = mockApplication(1)
    const router = new URLRouter([path('ws/echo/', app), rePath('^ws/plain/$', app)])
    await call(router, { type: 'websocket', path: '/ws/echo/' })
    const first = urlRoute(app) as { args: unknown[]; kwargs: Record<string, unknown> }
    expect(first).toEqual({ args: [], kwargs: {} })
    expect(
      Object.isFrozen(first) && Object.isFrozen(first.args) && Object.isFrozen(first.kwargs),
    ).toBe(true)
    // Assigning into it is an error, not a change every other connection would see.
    expect(() => {
      first.kwargs.x = 1
    }).toThrow(TypeError)
    await call(router, { type: 'websocket', path: '/ws/plain/' })
    expect(urlRoute(app)).toBe(first)
  })

  it('builds url_route per connection when the route has default kwargs or an outer match', async () => {
    const app = mockApplication(1)
    const inner = new URLRouter([path('b/', app)])
    const router = new URLRouter([path('d/', app, { kwargs: { d: 1 } }), path('<slug:a>/', inner)])
    await call(router, { type: 'http', path: '/d/' })
    const withDefaults = urlRoute(app) as { kwargs: Record<string, unknown> }
    expect(withDefaults).toEqual({ args: [], kwargs: { d: 1 } })
    expect(Object.isFrozen(withDefaults.kwargs)).toBe(false)
    await call(router, { type: 'http', path: '/x/b/' })
    expect(urlRoute(app)).toEqual({ args: [], kwargs: { a: 'x' } })
  })

  it('does not leak one connection into the next', async () => {
    const app = mockApplication(1)
    const router = new URLRouter([path('x/<int:n>/', app, { kwargs: { d: 1 } })])
    await call(router, { type: 'http', path: '/x/1/' })
    const first = urlRoute(app) as { kwargs: Record<string, unknown> }
    first.kwargs.d = 'mutated'
    await call(router, { type: 'http', path: '/x/2/' })
    expect(urlRoute(app)).toEqual({ args: [], kwargs: { n: 2, d: 1 } })
  })

  it('passes through errors other than Resolver404', async () => {
    const boom = new Error('boom')
    const router = new URLRouter([
      path('x/', () => Promise.reject(boom)),
      path('x/', mockApplication(2)),
    ])
    await expect(call(router, { type: 'http', path: '/x/' })).rejects.toBe(boom)
  })

  it('tries later routes when a nested app raises Resolver404', async () => {
    const failing = Object.assign(() => Promise.reject(new Resolver404('inner')), {
      _path_routing: true,
    })
    const router = new URLRouter([path('x/', failing), path('x/y/', mockApplication(2))])
    expect(await call(router, { type: 'http', path: '/x/y/' })).toBe(2)
  })

  it('a consumer application is not retried: a Resolver404 it raises is its own error (deviation)', async () => {
    // Consumers do not route, so routes to them get no Resolver404 handler (it would live as
    // long as the connection). Channels would try the next route here.
    const late = new Resolver404('raised by a consumer handler')
    const consumerApp = Object.assign(() => Promise.reject(late), { consumerClass: class {} })
    const router = new URLRouter([path('x/', consumerApp), path('x/', mockApplication(2))])
    await expect(call(router, { type: 'http', path: '/x/', path_remaining: 'x/' })).rejects.toBe(
      late,
    )
  })

  it('retries a nested router with the scope it was given after a late Resolver404', async () => {
    const late = Object.assign(
      async () => {
        await Promise.resolve()
        throw new Resolver404('late')
      },
      { _path_routing: true },
    )
    const app = mockApplication(3)
    const inner = new URLRouter([path('<int:m>/', late), path('<int:n>/y/', app)])
    const outer = new URLRouter([rePath('^(?<room>\\w+)/', inner)])
    expect(await call(outer, { type: 'http', path: '/r/5/y/', extra: 'kept' })).toBe(3)
    const seen = app.callArgs![0]
    expect(seen).toMatchObject({ path: '/r/5/y/', path_remaining: '', extra: 'kept' })
    expect(urlRoute(app)).toEqual({ args: [], kwargs: { room: 'r', n: 5 } })
  })

  it('raises Resolver404 when nested and nothing matches', async () => {
    const router = new URLRouter([path('a/', mockApplication(1))])
    await expect(call(router, { type: 'http', path: '/b/', path_remaining: 'b/' })).rejects.toThrow(
      new Resolver404("No route found for path 'b/'."),
    )
  })

  it('needs a path', async () => {
    const router = new URLRouter([path('', mockApplication(1))])
    const missing = new ValueError("No 'path' key in connection scope, cannot route URLs")
    await expect(call(router, { type: 'lifespan' })).rejects.toThrow(missing)
    await expect(call(router, { type: 'http', path: null })).rejects.toThrow(missing)
  })

  it('rejects a path or root_path that is not a string', async () => {
    const router = new URLRouter([path('', mockApplication(1))])
    await expect(call(router, { type: 'http', path: Buffer.from('/') })).rejects.toThrow(
      new TypeError("URLRouter: scope 'path' must be a string, got a Buffer."),
    )
    await expect(call(router, { type: 'http', path: '/', root_path: 5 })).rejects.toThrow(
      new TypeError("URLRouter: scope 'root_path' must be a string, got a number."),
    )
  })
})

describe('URLRouter construction', () => {
  it('is an Application, an instance of its class, and flags itself for nesting', () => {
    const router = new URLRouter([])
    const app: Application = router
    expect(typeof app).toBe('function')
    expect(router).toBeInstanceOf(URLRouter)
    expect(router._path_routing).toBe(true)
    expect(router.routes).toEqual([])
  })

  it('rejects routes not built with path() or rePath()', () => {
    expect(() => new URLRouter(null as never)).toThrow(
      new TypeError('URLRouter expects an array of routes built with path() or rePath().'),
    )
    expect(() => new URLRouter([mockApplication(1)] as never)).toThrow(
      new TypeError('URLRouter route #0 must be built with path() or rePath(), got a function.'),
    )
    expect(() => new URLRouter([{ pattern: 'x', callback: mockApplication(1) }] as never)).toThrow(
      'URLRouter route #0 must be built with path() or rePath(), got an object.',
    )
  })

  it('include() throws whatever it is given', () => {
    expect(() => include('chat.routing')).toThrow(ImproperlyConfigured)
  })
})
