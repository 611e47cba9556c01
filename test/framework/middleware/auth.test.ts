import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ImproperlyConfigured, ValueError } from '../../../src/framework/asgi/errors.js'
import type { Receive, Scope, Send } from '../../../src/framework/asgi/types.js'
import { AsyncWebsocketConsumer } from '../../../src/framework/consumers/index.js'
import {
  AnonymousUser,
  registerAuthBackend,
  type AuthBackend,
  type AuthUser,
} from '../../../src/framework/middleware/auth-user.js'
import {
  AuthMiddleware,
  AuthMiddlewareStack,
  BACKEND_SESSION_KEY,
  createUserPlaceholder,
  getUser,
  HASH_SESSION_KEY,
  login,
  logout,
  SESSION_KEY,
  userLoggedIn,
  userLoggedOut,
  type UserSignalPayload,
} from '../../../src/framework/middleware/auth.js'
import { createSession } from '../../../src/framework/middleware/sessions/engine.js'
import type { Session } from '../../../src/framework/middleware/sessions/session.js'
import type { Signal } from '../../../src/framework/middleware/signals.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { HttpCommunicator, WebsocketCommunicator } from '../../../src/framework/testing/index.js'
import { cookieFrom, useSettings } from './helpers.js'

class User implements AuthUser {
  constructor(
    readonly id: number,
    readonly username: string,
    public password = 'pw',
  ) {}
  getSessionAuthHash(): string {
    return `hash-of-${this.password}`
  }
}

const bob = new User(1, 'bob')
const bill = new User(2, 'bill')
const users = new Map<string, User>([
  ['1', bob],
  ['2', bill],
])

class ModelBackend implements AuthBackend<User> {
  getUser(id: string): User | null {
    return users.get(id) ?? null
  }
}

/** Channels' CatchSignal: a mock connected for the duration of `fn`. */
async function catchSignal(
  signal: Signal<UserSignalPayload>,
  fn: (handler: ReturnType<typeof vi.fn>) => Promise<void>,
) {
  const handler = vi.fn()
  const disconnect = signal.connect(handler)
  try {
    await fn(handler)
  } finally {
    disconnect()
  }
}

async function assertIsLoggedIn(scope: Record<string, unknown>, user: User): Promise<void> {
  expect(scope.user).toBe(user)
  const session = scope.session as Session
  expect(session.has(SESSION_KEY)).toBe(true)
  expect(session.has(BACKEND_SESSION_KEY)).toBe(true)
  expect(session.has(HASH_SESSION_KEY)).toBe(true)
  expect(await getUser(scope)).toBeInstanceOf(User)
  expect(await getUser(scope)).toBe(user)
}

let restore: () => void
let session: Session
beforeEach(async () => {
  restore = useSettings({ SESSION_ENGINE: 'memory', AUTHENTICATION_BACKENDS: [ModelBackend] })
  // Channels' fixture: SessionStore(); session.create()
  session = await createSession()
  await session.create()
  bob.password = 'pw'
})
afterEach(() => restore())

describe('login / logout (tests/security/test_auth.py)', () => {
  it('test_login_no_session_in_scope', async () => {
    await expect(login({}, null)).rejects.toThrow(
      'Cannot find session in scope. You should wrap your consumer in SessionMiddleware.',
    )
    await expect(login({}, null)).rejects.toThrow(ValueError)
  })

  it('test_login_no_user_in_scope', async () => {
    await expect(login({ session }, null)).rejects.toThrow(
      'User must be passed as an argument or must be present in the scope.',
    )
  })

  it('test_login_user_as_argument', async () => {
    const scope: Record<string, unknown> = { session }
    expect(await getUser(scope)).toBeInstanceOf(AnonymousUser)
    expect(session.has(SESSION_KEY)).toBe(false)
    await catchSignal(userLoggedIn, async (handler) => {
      expect(handler).not.toHaveBeenCalled()
      await login(scope, bob)
      expect(handler).toHaveBeenCalledOnce()
      expect(handler.mock.calls[0]![0]).toMatchObject({ sender: User, request: null, user: bob })
    })
    await assertIsLoggedIn(scope, bob)
  })

  it('test_login_user_on_scope', async () => {
    const scope: Record<string, unknown> = { session, user: bob }
    expect(await getUser(scope)).toBeInstanceOf(AnonymousUser)
    await catchSignal(userLoggedIn, async (handler) => {
      await login(scope, null)
      expect(handler).toHaveBeenCalledOnce()
    })
    await assertIsLoggedIn(scope, bob)
  })

  it('test_login_change_user', async () => {
    const scope: Record<string, unknown> = { session }
    expect(await getUser(scope)).toBeInstanceOf(AnonymousUser)
    await catchSignal(userLoggedIn, async (handler) => {
      await login(scope, bob)
      expect(handler).toHaveBeenCalledOnce()
    })
    await assertIsLoggedIn(scope, bob)
    const userKey = session.get(SESSION_KEY)
    expect(userKey).toBeTruthy()
    const sessionKey = session.sessionKey
    await catchSignal(userLoggedIn, async (handler) => {
      await login(scope, bill)
      expect(handler).toHaveBeenCalledOnce()
    })
    await assertIsLoggedIn(scope, bill)
    expect(session.get(SESSION_KEY)).not.toBe(userKey)
    // Flushed: bob's session data and key are gone.
    expect(session.sessionKey).not.toBe(sessionKey)
  })

  it('test_logout', async () => {
    const scope: Record<string, unknown> = { session }
    expect(await getUser(scope)).toBeInstanceOf(AnonymousUser)
    await login(scope, bob)
    await assertIsLoggedIn(scope, bob)
    expect(session.get(SESSION_KEY)).toBeTruthy()
    await catchSignal(userLoggedOut, async (handler) => {
      await logout(scope)
      expect(handler).toHaveBeenCalledOnce()
      expect(handler.mock.calls[0]![0]).toMatchObject({ user: bob })
    })
    expect(await getUser(scope)).toBeInstanceOf(AnonymousUser)
    expect(scope.user).toBeInstanceOf(AnonymousUser)
    expect(session.has(SESSION_KEY)).toBe(false)
  })

  it('test_logout_not_logged_in', async () => {
    const scope: Record<string, unknown> = { session }
    expect(await getUser(scope)).toBeInstanceOf(AnonymousUser)
    await catchSignal(userLoggedOut, async (handler) => {
      await logout(scope)
      expect(handler).not.toHaveBeenCalled()
    })
    expect('user' in scope).toBe(false)
    expect(await getUser(scope)).toBeInstanceOf(AnonymousUser)
  })

  it('logout without a session uses Channels message', async () => {
    await expect(logout({})).rejects.toThrow(
      'Login cannot find session in scope. You should wrap your consumer in SessionMiddleware.',
    )
  })

  it('logout of an AnonymousUser sends no signal but still replaces the user', async () => {
    const scope: Record<string, unknown> = { session, user: new AnonymousUser() }
    await catchSignal(userLoggedOut, async (handler) => {
      await logout(scope)
      expect(handler).not.toHaveBeenCalled()
    })
    expect(scope.user).toBeInstanceOf(AnonymousUser)
  })

  it('cycles the session key when logging in from an anonymous session', async () => {
    session.set('cart', ['book'])
    await session.save()
    const before = session.sessionKey
    await login({ session }, bob)
    expect(session.sessionKey).not.toBe(before)
    // Data set while anonymous is kept (Django's behaviour).
    expect(session.get('cart')).toEqual(['book'])
    expect((await createSession(before)).sessionKey).toBeNull()
  })

  it('refuses to log in an AnonymousUser', async () => {
    await expect(login({ session }, new AnonymousUser() as never)).rejects.toThrow(
      'Cannot log in an anonymous user.',
    )
  })

  it('login does not save the session', async () => {
    await login({ session }, bob)
    const stored = await createSession(session.sessionKey)
    expect(stored.has(SESSION_KEY)).toBe(false)
    await session.save()
    expect((await createSession(session.sessionKey)).get(SESSION_KEY)).toBe('1')
  })
})

describe('getUser', () => {
  it('flushes the session when the auth hash no longer matches (password changed)', async () => {
    const scope: Record<string, unknown> = { session }
    await login(scope, bob)
    expect(await getUser(scope)).toBe(bob)
    bob.password = 'changed'
    expect(await getUser(scope)).toBeInstanceOf(AnonymousUser)
    expect(session.has(SESSION_KEY)).toBe(false)
  })

  it('re-logging the same user with a stale hash flushes too', async () => {
    const scope: Record<string, unknown> = { session }
    await login(scope, bob)
    session.set('other', 1)
    bob.password = 'changed'
    await login(scope, bob)
    expect(session.has('other')).toBe(false)
  })

  it('an unknown backend or a deleted user reads as anonymous', async () => {
    session.set(SESSION_KEY, '1')
    session.set(BACKEND_SESSION_KEY, 'SomethingElse')
    expect(await getUser({ session })).toBeInstanceOf(AnonymousUser)
    session.set(BACKEND_SESSION_KEY, 'ModelBackend')
    session.set(SESSION_KEY, '99')
    expect(await getUser({ session })).toBeInstanceOf(AnonymousUser)
  })

  it('users without getSessionAuthHash are not hash-checked', async () => {
    const plain = { id: 'p1', username: 'plain' }
    const backend = { name: 'plain', getUser: (id: string) => (id === 'p1' ? plain : null) }
    await overrideSettings({ AUTHENTICATION_BACKENDS: [backend] }, async () => {
      const scope: Record<string, unknown> = { session }
      await login(scope, plain)
      expect(session.get(BACKEND_SESSION_KEY)).toBe('plain')
      expect(session.get(HASH_SESSION_KEY)).toBe('')
      expect(await getUser(scope)).toBe(plain)
    })
  })

  it('needs a session', async () => {
    await expect(getUser({})).rejects.toThrow(ValueError)
  })
})

describe('AUTHENTICATION_BACKENDS', () => {
  it('with several backends, login needs the backend argument or user.backend', async () => {
    const other = { name: 'other', getUser: () => null }
    await overrideSettings({ AUTHENTICATION_BACKENDS: [ModelBackend, other] }, async () => {
      await expect(login({ session }, bob)).rejects.toThrow(
        'You have multiple authentication backends configured and therefore must provide the `backend` argument or set the `backend` attribute on the user.',
      )
      await login({ session }, bob, { backend: ModelBackend })
      expect(session.get(BACKEND_SESSION_KEY)).toBe('ModelBackend')
      const withBackend = Object.assign(new User(2, 'bill'), { backend: 'other' })
      await login({ session }, withBackend)
      expect(session.get(BACKEND_SESSION_KEY)).toBe('other')
    })
  })

  it('accepts registered names', async () => {
    registerAuthBackend('accounts.backends.TokenBackend', {
      getUser: (id) => users.get(id) ?? null,
    })
    await overrideSettings(
      { AUTHENTICATION_BACKENDS: ['accounts.backends.TokenBackend'] },
      async () => {
        const scope: Record<string, unknown> = { session }
        await login(scope, bob)
        expect(session.get(BACKEND_SESSION_KEY)).toBe('accounts.backends.TokenBackend')
        expect(await getUser(scope)).toBe(bob)
      },
    )
  })

  it.each([
    [['not.registered'], /not registered/],
    [[{ getUser: () => null }], /plain object without a 'name'/],
    [[42], /must be a backend object/],
  ])('rejects bad entries %j', async (backends, message) => {
    await overrideSettings({ AUTHENTICATION_BACKENDS: backends }, async () => {
      session.set(SESSION_KEY, '1')
      session.set(BACKEND_SESSION_KEY, 'x')
      await expect(getUser({ session })).rejects.toThrow(ImproperlyConfigured)
      await expect(getUser({ session })).rejects.toThrow(message)
    })
  })

  it('with no backends, login explains', async () => {
    await overrideSettings({ AUTHENTICATION_BACKENDS: [] }, async () => {
      await expect(login({ session }, bob)).rejects.toThrow(ImproperlyConfigured)
      await expect(login({ session }, bob)).rejects.toThrow(
        'No authentication backends have been defined. Does AUTHENTICATION_BACKENDS contain anything?',
      )
    })
  })
})

describe('AuthMiddleware', () => {
  it('test_scope_user_error_message: touching the user before it is ready throws', async () => {
    class EarlyAuth extends AuthMiddleware {
      override async resolveScope(scope: Record<string, unknown>): Promise<void> {
        // The read throws while the user is a placeholder; getting past it fails the test.
        const { username } = scope.user as { username: string }
        throw new Error(`read ${username} before the user was ready`)
      }
    }
    const app = new EarlyAuth(async () => {})
    const receive: Receive = async () => ({ type: 'websocket.connect' })
    const send: Send = async () => {}
    await expect(
      app(
        {
          type: 'websocket',
          path: '/',
          query_string: Buffer.alloc(0),
          headers: [],
          subprotocols: [],
          session,
        },
        receive,
        send,
      ),
    ).rejects.toThrow('Accessing scope user before it is ready.')
  })

  it('the placeholder survives inspection and await', async () => {
    const placeholder = createUserPlaceholder()
    expect(await Promise.resolve(placeholder)).toBe(placeholder)
    expect(() => (placeholder as { id: unknown }).id).toThrow(ValueError)
  })

  it('needs a session', async () => {
    const communicator = new WebsocketCommunicator(
      new AuthMiddleware(AsyncWebsocketConsumer.asAsgi()),
      '/',
    )
    await expect(communicator.connect()).rejects.toThrow(
      'AuthMiddleware cannot find session in scope. SessionMiddleware must be above it.',
    )
  })

  it('keeps a user already in the scope', async () => {
    let seen: unknown
    const app = new AuthMiddleware(async (scope: Scope) => {
      seen = scope.user
    })
    await app(
      {
        type: 'websocket',
        path: '/',
        query_string: Buffer.alloc(0),
        headers: [],
        subprotocols: [],
        session,
        user: bill,
      },
      async () => ({ type: 'websocket.connect' }),
      async () => {},
    )
    expect(seen).toBe(bill)
  })

  it('AuthMiddlewareStack: log in over HTTP, the WebSocket sees the user', async () => {
    const httpApp = AuthMiddlewareStack(async (scope: Scope, _r: Receive, send: Send) => {
      expect(scope.user).toBeInstanceOf(AnonymousUser)
      await login(scope, bob)
      ;(scope.session as Session).set('room', 'lobby')
      await send({ type: 'http.response.start', status: 200, headers: [] })
      await send({ type: 'http.response.body', body: Buffer.alloc(0) })
    })
    const response = await new HttpCommunicator(httpApp, 'POST', '/login').getResponse()
    const cookie = cookieFrom(response.headers, 'sessionid')!

    class WhoAmI extends AsyncWebsocketConsumer {
      override async connect(): Promise<void> {
        await this.accept()
        const user = this.scope.user as AuthUser
        await this.send({
          textData: `${user.username}@${String((this.scope.session as Session).get('room'))}`,
        })
      }
    }
    const ws = new WebsocketCommunicator(AuthMiddlewareStack(WhoAmI.asAsgi()), '/ws/', {
      headers: [['cookie', `sessionid=${cookie}`]],
    })
    await ws.connect()
    expect(await ws.receiveFrom()).toBe('bob@lobby')
    await ws.disconnect()

    const anonymous = new WebsocketCommunicator(AuthMiddlewareStack(WhoAmI.asAsgi()), '/ws/')
    await anonymous.connect()
    expect(await anonymous.receiveFrom()).toBe('@undefined')
    await anonymous.disconnect()
  })
})

describe('signals', () => {
  it('on/off are aliases of connect/disconnect', async () => {
    const handler = vi.fn()
    userLoggedIn.on(handler)
    await login({ session }, bob)
    expect(userLoggedIn.off(handler)).toBe(true)
    await login({ session }, bob)
    expect(handler).toHaveBeenCalledOnce()
  })

  it('a receiver that throws fails the login (Django send() propagates)', async () => {
    const disconnect = userLoggedIn.connect(() => {
      throw new Error('receiver failed')
    })
    try {
      await expect(login({ session }, bob)).rejects.toThrow('receiver failed')
    } finally {
      disconnect()
    }
  })
})

describe('AnonymousUser', () => {
  it('looks like Django', () => {
    const user = new AnonymousUser()
    expect(user).toMatchObject({
      id: null,
      username: '',
      isAuthenticated: false,
      isAnonymous: true,
    })
    expect([user.isStaff, user.isSuperuser, user.isActive]).toEqual([false, false, false])
    expect(String(user)).toBe('AnonymousUser')
  })

  it('keeps its fields on the prototype: changing one instance leaves the others alone', () => {
    const a = new AnonymousUser()
    const b = new AnonymousUser()
    expect(Object.keys(a)).toEqual([])
    ;(a as { username: string }).username = 'changed'
    expect(a.username).toBe('changed')
    expect(b.username).toBe('')
  })
})
