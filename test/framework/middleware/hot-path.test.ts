/**
 * What the middleware does per connection on the hot path: no wrapping of WebSocket sends, no
 * storage work without a session cookie, anonymous users resolved without the backends, origin
 * verdicts cached, and errors still reported as rejected promises (never thrown synchronously).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ValueError } from '../../../src/framework/asgi/errors.js'
import type { Receive, Scope, Send } from '../../../src/framework/asgi/types.js'
import { AnonymousUser } from '../../../src/framework/middleware/auth-user.js'
import {
  AuthMiddleware,
  AuthMiddlewareStack,
  SESSION_KEY,
  BACKEND_SESSION_KEY,
} from '../../../src/framework/middleware/auth.js'
import { CookieMiddleware } from '../../../src/framework/middleware/cookies.js'
import { OriginValidator } from '../../../src/framework/middleware/origin.js'
import { SessionMiddleware } from '../../../src/framework/middleware/sessions/middleware.js'
import {
  sessionFactory,
  closeSessionStores,
} from '../../../src/framework/middleware/sessions/engine.js'
import type { SessionData, SessionStore } from '../../../src/framework/middleware/sessions/store.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { useSettings } from './helpers.js'

const receive: Receive = async () => ({ type: 'websocket.connect' })
const send: Send = async () => {}

function wsScope(headers: [string, string][] = []): Scope {
  return {
    type: 'websocket',
    path: '/ws/',
    query_string: Buffer.alloc(0),
    headers: headers.map(([n, v]) => [Buffer.from(n, 'latin1'), Buffer.from(v, 'latin1')]),
    subprotocols: [],
  } as unknown as Scope
}

/** A store that counts every call, to prove nothing touches storage. */
class CountingStore implements SessionStore {
  calls: string[] = []
  data = new Map<string, SessionData>()
  async load(key: string) {
    this.calls.push('load')
    return this.data.get(key) ?? null
  }
  async save(key: string, data: SessionData) {
    this.calls.push('save')
    this.data.set(key, data)
    return true
  }
  async delete(key: string) {
    this.calls.push('delete')
    this.data.delete(key)
  }
  async exists(key: string) {
    this.calls.push('exists')
    return this.data.has(key)
  }
  createKey() {
    return 'k'.repeat(32)
  }
}

let restore: (() => void) | null = null
afterEach(() => {
  restore?.()
  restore = null
})

describe('SessionMiddleware per connection', () => {
  it('hands WebSocket apps the server send itself, HTTP apps a saving wrapper', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const seen: Send[] = []
    const app = new CookieMiddleware(
      new SessionMiddleware(async (_scope: Scope, _receive: Receive, innerSend: Send) => {
        seen.push(innerSend)
      }),
    )
    await app(wsScope(), receive, send)
    await app({ ...wsScope(), type: 'http', method: 'GET' } as unknown as Scope, receive, send)
    expect(seen[0]).toBe(send)
    expect(seen[1]).not.toBe(send)
  })

  it('does not touch the store for a connection without a session cookie', async () => {
    const store = new CountingStore()
    restore = useSettings({})
    let user: unknown
    const app = AuthMiddlewareStack(
      async (scope: Scope) => {
        user = (scope as unknown as { user: unknown }).user
      },
      { engine: store },
    )
    await app(wsScope(), receive, send)
    expect(user).toBeInstanceOf(AnonymousUser)
    expect(store.calls).toEqual([])
  })

  it('loads the session of a connection with a cookie', async () => {
    const store = new CountingStore()
    store.data.set('s'.repeat(32), { answer: 42 })
    restore = useSettings({})
    let answer: unknown
    const app = AuthMiddlewareStack(
      async (scope: Scope) => {
        answer = (scope as unknown as { session: { get(k: string): unknown } }).session.get(
          'answer',
        )
      },
      { engine: store },
    )
    await app(wsScope([['cookie', `sessionid=${'s'.repeat(32)}`]]), receive, send)
    expect(answer).toBe(42)
    expect(store.calls).toEqual(['load'])
  })

  it('asks the backends for a session that names a user', async () => {
    const store = new CountingStore()
    store.data.set('s'.repeat(32), { [SESSION_KEY]: '7', [BACKEND_SESSION_KEY]: 'Users' })
    const backend = { name: 'Users', getUser: (id: string) => ({ id, username: `user${id}` }) }
    restore = useSettings({ AUTHENTICATION_BACKENDS: [backend] })
    let user: unknown
    const app = AuthMiddlewareStack(
      async (scope: Scope) => {
        user = (scope as unknown as { user: unknown }).user
      },
      { engine: store },
    )
    await app(wsScope([['cookie', `sessionid=${'s'.repeat(32)}`]]), receive, send)
    expect(user).toMatchObject({ id: '7', username: 'user7' })
  })

  it('reports a missing CookieMiddleware as a rejection, not a synchronous throw', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const app = new SessionMiddleware(async () => {})
    let result: Promise<void> | undefined
    expect(() => (result = app(wsScope(), receive, send))).not.toThrow()
    await expect(result).rejects.toThrow(ValueError)
  })
})

describe('Session without a key', () => {
  it('is loaded from the start, empty, and stays usable once saving gives it a key', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const session = sessionFactory()(null)
    expect(session.loaded).toBe(true)
    expect(session.isEmpty()).toBe(true)
    await session.save()
    expect(session.sessionKey).not.toBeNull()
    expect(session.get('missing', 'fallback')).toBe('fallback')
    session.set('a', 1)
    expect(session.get('a')).toBe(1)
  })

  it('with a key is not loaded until load()', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const session = sessionFactory()('k'.repeat(32))
    expect(session.loaded).toBe(false)
    expect(() => session.get('a')).toThrow(/not loaded/)
    await session.load()
    expect(session.loaded).toBe(true)
    // Unknown key: the session forgets it (no fixation) and is empty.
    expect(session.sessionKey).toBeNull()
    expect(session.isEmpty()).toBe(true)
  })
})

describe('sessionFactory', () => {
  it('is reused while nothing changes, and rebuilt after closeSessionStores or new settings', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const first = sessionFactory()
    expect(sessionFactory()).toBe(first)
    const before = first(null)
    closeSessionStores()
    const second = sessionFactory()
    expect(second).not.toBe(first)
    // The memory store was replaced: a new factory must use the new one.
    expect((second(null) as unknown as { store: unknown }).store).not.toBe(
      (before as unknown as { store: unknown }).store,
    )
    await overrideSettings({ SESSION_ENGINE: 'signed_cookies' }, async () => {
      expect(sessionFactory()).not.toBe(second)
      expect(sessionFactory()(null).constructor.name).toBe('SignedCookieSession')
    })
  })

  it('keys the memo on an explicit engine too', () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const store = new CountingStore()
    const custom = sessionFactory(store)
    expect(sessionFactory(store)).toBe(custom)
    expect(sessionFactory()).not.toBe(custom)
    expect((custom(null) as unknown as { store: unknown }).store).toBe(store)
  })
})

describe('AuthMiddleware per connection', () => {
  it('gives each anonymous connection its own AnonymousUser', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const users: unknown[] = []
    const app = AuthMiddlewareStack(async (scope: Scope) => {
      users.push((scope as unknown as { user: unknown }).user)
    })
    await app(wsScope(), receive, send)
    await app(wsScope(), receive, send)
    expect(users[0]).toBeInstanceOf(AnonymousUser)
    expect(users[1]).toBeInstanceOf(AnonymousUser)
    expect(users[0]).not.toBe(users[1])
  })

  it('still calls an overridden resolveScope', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    class Custom extends AuthMiddleware {
      override async resolveScope(scope: Record<string, unknown>): Promise<void> {
        scope.user = { id: 1, username: 'custom' }
      }
    }
    let user: unknown
    const app = new CookieMiddleware(
      new SessionMiddleware(
        new Custom(async (scope: Scope) => {
          user = (scope as unknown as { user: unknown }).user
        }),
      ),
    )
    await app(wsScope(), receive, send)
    expect(user).toEqual({ id: 1, username: 'custom' })
  })

  it('keeps a user already in the scope', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const given = { id: 3 }
    let user: unknown
    const app = new CookieMiddleware(
      new SessionMiddleware(
        new AuthMiddleware(async (scope: Scope) => {
          user = (scope as unknown as { user: unknown }).user
        }),
      ),
    )
    await app({ ...wsScope(), user: given }, receive, send)
    expect(user).toBe(given)
  })
})

describe('AuthMiddlewareStack is the three middlewares, composed', () => {
  /** The inner app's scope, recorded. */
  function recorder(out: Record<string, unknown>[]) {
    return async (scope: Scope) => {
      out.push(scope)
    }
  }

  it('is CookieMiddleware(SessionMiddleware(AuthMiddleware(inner)))', () => {
    const inner = async () => {}
    const stack = AuthMiddlewareStack(inner, { engine: 'memory' })
    expect(stack).toBeInstanceOf(CookieMiddleware)
    const sessions = stack.inner as unknown as SessionMiddleware
    expect(sessions).toBeInstanceOf(SessionMiddleware)
    expect(sessions.options).toEqual({ engine: 'memory' })
    expect(sessions.inner).toBeInstanceOf(AuthMiddleware)
    expect((sessions.inner as unknown as AuthMiddleware).inner).toBe(inner)
  })

  // A stack that builds its scope itself would keep the old behaviour after SessionMiddleware
  // or AuthMiddleware change: every connection, anonymous WebSockets included, goes through them.
  it.each([
    ['an anonymous WebSocket', () => wsScope()],
    ['a WebSocket with cookies but no session', () => wsScope([['cookie', 'theme=dark']])],
    ['an HTTP request', () => ({ ...wsScope(), type: 'http' }) as unknown as Scope],
  ])('runs SessionMiddleware and AuthMiddleware for %s', async (_name, scope) => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const sessionAsgi = vi.spyOn(SessionMiddleware.prototype, 'asgi')
    const resolve = vi.spyOn(AuthMiddleware.prototype, 'resolveScope')
    try {
      const out: Record<string, unknown>[] = []
      await AuthMiddlewareStack(recorder(out))(scope(), receive, send)
      expect(sessionAsgi).toHaveBeenCalledTimes(1)
      expect(resolve).toHaveBeenCalledTimes(1)
      expect(out[0]!.user).toBeInstanceOf(AnonymousUser)
    } finally {
      sessionAsgi.mockRestore()
      resolve.mockRestore()
    }
  })

  it('shows a change in SessionMiddleware to the inner app', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const original = Object.getOwnPropertyDescriptor(SessionMiddleware.prototype, 'asgi')!
      .value as SessionMiddleware['asgi']
    const patched = vi.spyOn(SessionMiddleware.prototype, 'asgi').mockImplementation(function (
      this: SessionMiddleware,
      scope,
      receive,
      send,
    ) {
      return original.call(this, { ...scope, patched: true }, receive, send)
    })
    try {
      const out: Record<string, unknown>[] = []
      await AuthMiddlewareStack(recorder(out))(wsScope(), receive, send)
      expect(out[0]!.patched).toBe(true)
    } finally {
      patched.mockRestore()
    }
  })

  it('gives a connection without a Cookie header one shared, frozen, empty cookies object', async () => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
    const out: Record<string, unknown>[] = []
    const app = AuthMiddlewareStack(recorder(out))
    await app(wsScope(), receive, send)
    await app(wsScope(), receive, send)
    expect(out[0]!.cookies).toEqual({})
    expect(Object.isFrozen(out[0]!.cookies)).toBe(true)
    expect(out[1]!.cookies).toBe(out[0]!.cookies)
  })

  it('marks the new session of an anonymous connection accessed (the user lookup reads it)', async () => {
    const store = new CountingStore()
    restore = useSettings({ SESSION_ENGINE: store })
    const out: Record<string, unknown>[] = []
    await AuthMiddlewareStack(recorder(out))(wsScope(), receive, send)
    const session = out[0]!.session as { sessionKey: unknown; accessed: boolean; modified: boolean }
    expect([session.sessionKey, session.accessed, session.modified]).toEqual([null, true, false])
    expect(store.calls).toEqual([])
  })

  it('loads the session named by the cookie, so the stored user is looked up', async () => {
    const store = new CountingStore()
    restore = useSettings({ SESSION_ENGINE: store })
    store.data.set('s'.repeat(32), { [SESSION_KEY]: '7', [BACKEND_SESSION_KEY]: 'nowhere.Backend' })
    const out: Record<string, unknown>[] = []
    const app = AuthMiddlewareStack(recorder(out))
    await app(wsScope([['cookie', `sessionid=${'s'.repeat(32)}`]]), receive, send)
    expect(store.calls).toEqual(['load'])
    expect((out[0]!.session as { sessionKey: unknown }).sessionKey).toBe('s'.repeat(32))
    // No such backend: the user is anonymous.
    expect(out[0]!.user).toBeInstanceOf(AnonymousUser)
  })
})

describe('OriginValidator per connection', () => {
  it('passes the scope on as it is (Channels does not copy it either)', async () => {
    let inner: Scope | undefined
    const app = new OriginValidator(
      async (scope: Scope) => {
        inner = scope
      },
      ['*'],
    )
    const scope = wsScope([['origin', 'http://a.example']])
    await app(scope, receive, send)
    expect(inner).toBe(scope)
  })

  it('gives the same verdicts from its cache, and stays right past its size bound', async () => {
    let accepted = 0
    const app = new OriginValidator(async () => {
      accepted++
    }, ['http://good.example'])
    const sent: string[] = []
    const denySend: Send = async (message) => {
      sent.push(message.type)
    }
    for (let round = 0; round < 2; round++) {
      await app(wsScope([['origin', 'http://good.example']]), receive, denySend)
      await app(wsScope([['origin', 'http://evil.example']]), receive, denySend)
      await app(wsScope(), receive, denySend)
    }
    expect(accepted).toBe(2)
    expect(sent).toEqual(Array(4).fill('websocket.close'))
    for (let i = 0; i < 300; i++) {
      await app(wsScope([['origin', `http://h${i}.example`]]), receive, denySend)
    }
    await app(wsScope([['origin', 'http://good.example']]), receive, denySend)
    expect(accepted).toBe(3)
    expect(sent).toHaveLength(304)
  })

  it('reports a non-WebSocket scope as a rejection, not a synchronous throw', async () => {
    const app = new OriginValidator(async () => {}, ['*'])
    let result: Promise<void> | undefined
    expect(() => (result = app({ type: 'http' } as Scope, receive, send))).not.toThrow()
    await expect(result).rejects.toThrow(ValueError)
  })
})

describe('CookieMiddleware per connection', () => {
  it('reports a scope without headers as a rejection, not a synchronous throw', async () => {
    const app = new CookieMiddleware(async () => {})
    let result: Promise<void> | undefined
    expect(() => (result = app({ type: 'lifespan' }, receive, send))).not.toThrow()
    await expect(result).rejects.toThrow(ValueError)
  })

  it('turns a synchronous throw of the inner app into a rejection', async () => {
    const app = new CookieMiddleware(() => {
      throw new RangeError('inner')
    })
    let result: Promise<void> | undefined
    expect(() => (result = app(wsScope(), receive, send))).not.toThrow()
    await expect(result).rejects.toThrow(RangeError)
  })
})
