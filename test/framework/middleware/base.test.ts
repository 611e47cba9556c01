import { describe, expect, it } from 'vitest'
import { ValueError } from '../../../src/framework/asgi/errors.js'
import type { Receive, Scope, Send } from '../../../src/framework/asgi/types.js'
import { BaseMiddleware } from '../../../src/framework/middleware/base.js'
import { CookieMiddleware } from '../../../src/framework/middleware/cookies.js'
import { path, URLRouter } from '../../../src/framework/routing/index.js'
import { HttpCommunicator } from '../../../src/framework/testing/index.js'

const receive: Receive = async () => ({ type: 'http.disconnect' })
const send: Send = async () => {}
const httpScope = (p = '/'): Scope => ({
  type: 'http',
  http_version: '1.1',
  method: 'GET',
  path: p,
  query_string: Buffer.alloc(0),
  headers: [],
})

describe('BaseMiddleware', () => {
  it('is callable, an instance of its class, and passes a copy of the scope', async () => {
    const seen: Scope[] = []
    class Tagging extends BaseMiddleware {
      override async asgi(scope: Scope, r: Receive, s: Send): Promise<void> {
        scope.tag = 'inner only'
        return super.asgi(scope, r, s)
      }
    }
    const app = new Tagging(async (scope: Scope) => {
      seen.push(scope)
      scope.leak = true
    })
    expect(typeof app).toBe('function')
    expect(app).toBeInstanceOf(Tagging)
    expect(app).toBeInstanceOf(BaseMiddleware)
    const scope = httpScope()
    await app(scope, receive, send)
    expect(seen[0]).not.toBe(scope)
    expect(seen[0]!.leak).toBe(true)
    expect('leak' in scope).toBe(false)
    // Tagging mutated the caller's object; BaseMiddleware's copy still kept `leak` inside.
    expect(scope.tag).toBe('inner only')
  })

  it('keeps no per-connection state: concurrent connections stay separate', async () => {
    const app = new CookieMiddleware(async (scope: Scope, _r: Receive, s: Send) => {
      await new Promise((resolve) => setImmediate(resolve))
      await s({ type: 'http.response.start', status: 200, headers: [] })
      await s({
        type: 'http.response.body',
        body: Buffer.from(String((scope.cookies as Record<string, string>).id)),
      })
    })
    const responses = await Promise.all(
      ['1', '2', '3'].map((id) =>
        new HttpCommunicator(app, 'GET', '/', { headers: [['cookie', `id=${id}`]] }).getResponse(),
      ),
    )
    expect(responses.map((r) => r.body.toString())).toEqual(['1', '2', '3'])
  })

  it('refuses a non-application inner', () => {
    expect(() => new BaseMiddleware({} as never)).toThrow(TypeError)
  })

  it('passes _path_routing through, so path() nesting works across middleware (#1428)', async () => {
    const captured: Scope[] = []
    const inner = new URLRouter([
      path('test/<int:page>/', async (scope: Scope) => {
        captured.push(scope)
      }),
    ])
    const wrapped = new CookieMiddleware(inner)
    expect(wrapped._path_routing).toBe(true)
    expect(new CookieMiddleware(async () => {})._path_routing).toBe(false)
    const outer = new URLRouter([path('number/<int:number>/', wrapped)])
    await outer(httpScope('/number/42/test/3/'), receive, send)
    expect(captured[0]!.url_route).toEqual({ args: [], kwargs: { number: 42, page: 3 } })
    expect(captured[0]!.cookies).toEqual({})
    await expect(outer(httpScope('/number/42/test/3/bla/'), receive, send)).rejects.toThrow(
      ValueError,
    )
  })
})
