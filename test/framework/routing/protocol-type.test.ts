import { describe, expect, it } from 'vitest'
import { ValueError } from '../../../src/framework/asgi/errors.js'
import type { Application, HttpScope, WebSocketScope } from '../../../src/framework/asgi/types.js'
import { ProtocolTypeRouter, rePath, URLRouter } from '../../../src/framework/routing/index.js'
import { call, mockApplication, receive, send } from './helpers.js'

describe('ProtocolTypeRouter', () => {
  it('test_protocol_type_router', async () => {
    const router = new ProtocolTypeRouter({
      websocket: mockApplication('ws'),
      http: mockApplication('http'),
    })
    expect(await call(router, { type: 'websocket' })).toBe('ws')
    expect(await call(router, { type: 'http' })).toBe('http')
    // An unmatched type
    await expect(call(router, { type: 'aprs' })).rejects.toThrow(
      new ValueError("No application configured for scope type 'aprs'"),
    )
    // A scope with no type (Channels: KeyError)
    await expect(call(router, { tyyyype: 'http' })).rejects.toThrow(
      new ValueError("Scope has no 'type' key"),
    )
  })

  it('is an Application, a function and an instance of its class', async () => {
    const inner = mockApplication(undefined)
    const router = new ProtocolTypeRouter({ http: inner })
    const app: Application = router
    expect(typeof app).toBe('function')
    expect(router).toBeInstanceOf(ProtocolTypeRouter)
    expect(router).toBeInstanceOf(Function)
    expect(router.name).toBe('ProtocolTypeRouter')
    expect(router.applicationMapping.http).toBe(inner)
    const scope = { type: 'http' }
    await router.call(null, scope as never, receive, send)
    expect(inner.callArgs?.[0]).toBe(scope)
    expect(inner.callArgs?.[1]).toBe(receive)
    expect(inner.callArgs?.[2]).toBe(send)
  })

  it('rejects instead of throwing synchronously', () => {
    const router = new ProtocolTypeRouter({})
    const result = call(router, { type: 'http' })
    expect(result).toBeInstanceOf(Promise)
    return expect(result).rejects.toBeInstanceOf(ValueError)
  })

  it('does not map lifespan unless asked', async () => {
    const router = new ProtocolTypeRouter({ http: mockApplication(1) })
    await expect(call(router, { type: 'lifespan' })).rejects.toThrow(
      "No application configured for scope type 'lifespan'",
    )
  })

  it('never routes to Object.prototype members', async () => {
    const router = new ProtocolTypeRouter({ http: mockApplication(1) })
    for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      await expect(call(router, { type })).rejects.toBeInstanceOf(ValueError)
    }
  })

  it('skips undefined entries', async () => {
    const router = new ProtocolTypeRouter({ http: undefined, websocket: mockApplication(2) })
    await expect(call(router, { type: 'http' })).rejects.toBeInstanceOf(ValueError)
    expect(await call(router, { type: 'websocket' })).toBe(2)
  })

  it('rejects a mapping that is not an object', () => {
    for (const bad of [null, undefined, 'http', [mockApplication(1)]]) {
      expect(() => new ProtocolTypeRouter(bad as never)).toThrow(TypeError)
    }
    expect(() => new ProtocolTypeRouter([] as never)).toThrow(
      new TypeError(
        'ProtocolTypeRouter expects an object mapping each scope type to an application, ' +
          'got an array.',
      ),
    )
  })

  it('rejects a value that is not an application, at construction', () => {
    expect(() => new ProtocolTypeRouter({ http: 'app' as never })).toThrow(
      new TypeError(
        "ProtocolTypeRouter: the application for scope type 'http' must be an ASGI application " +
          '(a function), got a string.',
      ),
    )
    expect(() => new ProtocolTypeRouter({ http: null as never })).toThrow('got null.')
  })

  it('rejects a consumer class passed without asAsgi()', () => {
    class ChatConsumer {
      static asAsgi(): Application {
        return mockApplication(1)
      }
    }
    expect(() => new ProtocolTypeRouter({ websocket: ChatConsumer as never })).toThrow(
      'got the class ChatConsumer: pass ChatConsumer.asAsgi(), not the class itself.',
    )
    class Plain {}
    expect(() => new ProtocolTypeRouter({ websocket: Plain as never })).toThrow(
      'pass an application function, not a class.',
    )
  })

  it('lets errors of the inner app through', async () => {
    const boom = new Error('boom')
    const router = new ProtocolTypeRouter({ http: () => Promise.reject(boom) })
    await expect(call(router, { type: 'http' })).rejects.toBe(boom)
  })

  it('accepts apps typed for their own scope (the design example compiles and routes)', async () => {
    const seen: string[] = []
    const chat: Application<WebSocketScope> = async (scope) => {
      seen.push(String(scope.url_route?.kwargs.room_name))
    }
    const http: Application<HttpScope> = async (scope) => {
      seen.push(scope.method)
    }
    const application = new ProtocolTypeRouter({
      http,
      websocket: new URLRouter([rePath(String.raw`^ws/chat/(?<room_name>\w+)/$`, chat)]),
      mqtt: mockApplication('custom type'),
    })
    await call(application, { type: 'websocket', path: '/ws/chat/lobby/' })
    await call(application, { type: 'http', path: '/', method: 'GET' })
    expect(seen).toEqual(['lobby', 'GET'])
    expect(await call(application, { type: 'mqtt' })).toBe('custom type')
  })
})
