import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ValueError } from '../../../src/framework/asgi/errors.js'
import type { Receive, Scope, Send } from '../../../src/framework/asgi/types.js'
import { AsyncConsumer, WebsocketConsumer } from '../../../src/framework/consumers/index.js'
import { CookieMiddleware } from '../../../src/framework/middleware/cookies.js'
import { createSession } from '../../../src/framework/middleware/sessions/engine.js'
import { SuspiciousOperation } from '../../../src/framework/middleware/sessions/errors.js'
import {
  SessionMiddleware,
  SessionMiddlewareStack,
} from '../../../src/framework/middleware/sessions/middleware.js'
import type { Session } from '../../../src/framework/middleware/sessions/session.js'
import { overrideSettings } from '../../../src/framework/settings/index.js'
import { HttpCommunicator, WebsocketCommunicator } from '../../../src/framework/testing/index.js'
import {
  cookieFrom,
  engineSettings,
  SimpleHttpApp,
  tempDir,
  textHeaders,
  useSettings,
} from './helpers.js'

const ENGINES = ['db', 'memory', 'file', 'signed_cookies'] as const

describe.each(ENGINES)('SESSION_ENGINE=%s', (engine) => {
  let restore: () => void
  let cleanup: () => void
  beforeEach(() => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    restore = useSettings(engineSettings(engine, tmp.dir))
  })
  afterEach(() => {
    restore()
    cleanup()
  })

  it('test_sessions', async () => {
    const communicator = new HttpCommunicator(
      SessionMiddlewareStack(SimpleHttpApp.asAsgi()),
      'GET',
      '/test/',
    )
    const response = await communicator.getResponse()
    const headers = textHeaders(response.headers)
    expect(headers).toHaveLength(1)
    const [name, value] = headers[0]!
    expect(name).toBe('Set-Cookie')
    expect(value).toMatch(/sessionid=/)
    expect(value).toMatch(/expires=/)
    expect(value).toMatch(/HttpOnly/)
    expect(value).toMatch(/Max-Age/)
    expect(value).toMatch(/Path/)
    expect(/SameSite=(\w+)/.exec(value)?.[1]).toBe('Lax')
  })

  it.each(['Strict', 'None'] as const)('test_session_samesite[%s]', async (samesite) => {
    await overrideSettings({ SESSION_COOKIE_SAMESITE: samesite }, async () => {
      const communicator = new HttpCommunicator(
        SessionMiddlewareStack(SimpleHttpApp.asAsgi()),
        'GET',
        '/test/',
      )
      const response = await communicator.getResponse()
      const headers = textHeaders(response.headers)
      expect(headers).toHaveLength(1)
      expect(/SameSite=(\w+)/.exec(headers[0]![1])?.[1]).toBe(samesite)
    })
  })

  it('test_session_samesite_invalid', async () => {
    await overrideSettings({ SESSION_COOKIE_SAMESITE: 'Invalid' as never }, async () => {
      const communicator = new HttpCommunicator(
        SessionMiddlewareStack(SimpleHttpApp.asAsgi()),
        'GET',
        '/test/',
      )
      await expect(communicator.getResponse()).rejects.toThrow(
        "samesite must be either 'strict', 'lax' or 'none'",
      )
    })
  })

  it('test_multiple_sessions', async () => {
    const app = SessionMiddlewareStack(SimpleHttpApp.asAsgi())
    const first = new HttpCommunicator(app, 'GET', '/first/')
    const second = new HttpCommunicator(app, 'GET', '/second/')
    expect((await second.getResponse()).body.toString()).toBe('/second/')
    expect((await first.getResponse()).body.toString()).toBe('/first/')
  })

  it('test_session_saves', async () => {
    class FavColorApp extends AsyncConsumer {
      async http_request(): Promise<void> {
        const session = this.scope.session as Session
        session.set('fav_color', 'blue')
        await this.send({ type: 'http.response.start', status: 200, headers: [] })
        // Channels returns session_key in the body; the cookie is where the key travels here.
        await this.send({ type: 'http.response.body', body: Buffer.from('ok') })
      }
    }
    const response = await new HttpCommunicator(
      SessionMiddlewareStack(FavColorApp.asAsgi()),
      'GET',
      '/first/',
    ).getResponse()
    const sessionKey = cookieFrom(response.headers, 'sessionid')!
    expect(sessionKey).toBeTruthy()
    const session = await createSession(sessionKey)
    expect(session.get('fav_color')).toBe('blue')
  })

  it('test_multiple_websocket_consumers_with_sessions', async () => {
    class TestConsumer extends WebsocketConsumer {
      override connect(): void {
        void this.accept()
        void this.send({ textData: this.scope.path })
      }
    }
    const app = SessionMiddlewareStack(TestConsumer.asAsgi())
    const communicator = new WebsocketCommunicator(app, '/first/')
    const second = new WebsocketCommunicator(app, '/second/')
    expect((await communicator.connect())[0]).toBe(true)
    expect((await second.connect())[0]).toBe(true)
    expect(await second.receiveFrom()).toBe('/second/')
    expect(await communicator.receiveFrom()).toBe('/first/')
    await communicator.disconnect()
    await second.disconnect()
  })

  it('a returning client gets its data back, and unmodified sessions set no cookie', async () => {
    const app = SessionMiddlewareStack(countingApp())
    const first = await new HttpCommunicator(app, 'GET', '/').getResponse()
    expect(first.body.toString()).toBe('1')
    let cookie = cookieFrom(first.headers, 'sessionid')!
    const second = await new HttpCommunicator(app, 'GET', '/', {
      headers: [['cookie', `sessionid=${cookie}`]],
    }).getResponse()
    expect(second.body.toString()).toBe('2')
    cookie = cookieFrom(second.headers, 'sessionid') ?? cookie
    const readOnly = await new HttpCommunicator(app, 'GET', '/peek', {
      headers: [['cookie', `sessionid=${cookie}`]],
    }).getResponse()
    expect(readOnly.body.toString()).toBe('2')
    expect(readOnly.headers).toEqual([])
  })

  it('does not save on a 500 response', async () => {
    const app = SessionMiddlewareStack(async (scope: Scope, _r: Receive, send: Send) => {
      ;(scope.session as Session).set('x', 1)
      await send({ type: 'http.response.start', status: 500, headers: [] })
      await send({ type: 'http.response.body', body: Buffer.alloc(0) })
    })
    const response = await new HttpCommunicator(app, 'GET', '/').getResponse()
    expect(response.status).toBe(500)
    expect(response.headers).toEqual([])
  })

  it('SESSION_SAVE_EVERY_REQUEST saves unmodified sessions', async () => {
    await overrideSettings({ SESSION_SAVE_EVERY_REQUEST: true }, async () => {
      const app = SessionMiddlewareStack(async (_scope: Scope, _r: Receive, send: Send) => {
        await send({ type: 'http.response.start', status: 200, headers: [] })
        await send({ type: 'http.response.body', body: Buffer.alloc(0) })
      })
      const response = await new HttpCommunicator(app, 'GET', '/').getResponse()
      // An empty session without a cookie: saved, but there is nothing to set or delete.
      expect(response.headers).toEqual([])
    })
  })

  it('a flushed session deletes the cookie', async () => {
    const app = SessionMiddlewareStack(countingApp())
    const first = await new HttpCommunicator(app, 'GET', '/').getResponse()
    const cookie = cookieFrom(first.headers, 'sessionid')!
    const flushed = await new HttpCommunicator(app, 'GET', '/flush', {
      headers: [['cookie', `sessionid=${cookie}`]],
    }).getResponse()
    const headers = textHeaders(flushed.headers)
    expect(headers).toHaveLength(1)
    expect(headers[0]![1]).toMatch(
      /^sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=\//,
    )
    const after = await new HttpCommunicator(app, 'GET', '/peek', {
      headers: [['cookie', `sessionid=${cookie}`]],
    }).getResponse()
    // A signed cookie can't be revoked server-side: replaying the old one still works (the
    // caveat Django documents for this backend).
    expect(after.body.toString()).toBe(engine === 'signed_cookies' ? '1' : '0')
  })

  it('SESSION_EXPIRE_AT_BROWSER_CLOSE sets a cookie without Max-Age and expires', async () => {
    await overrideSettings(
      {
        SESSION_EXPIRE_AT_BROWSER_CLOSE: true,
        SESSION_COOKIE_SECURE: true,
        SESSION_COOKIE_DOMAIN: 'example.com',
      },
      async () => {
        const response = await new HttpCommunicator(
          SessionMiddlewareStack(countingApp()),
          'GET',
          '/',
        ).getResponse()
        const value = textHeaders(response.headers)[0]![1]
        expect(value).not.toMatch(/Max-Age|expires/)
        expect(value).toMatch(/; Domain=example\.com; HttpOnly; Path=\/; SameSite=Lax; Secure$/)
      },
    )
  })

  it('setExpiry(ms) sets the cookie Max-Age in seconds; setExpiry(0) means browser close', async () => {
    const app = SessionMiddlewareStack(async (scope: Scope, _r: Receive, send: Send) => {
      const session = scope.session as Session
      session.setExpiry(scope.path === '/short' ? 60_000 : 0)
      expect(session.getExpireAtBrowserClose()).toBe(scope.path !== '/short')
      await send({ type: 'http.response.start', status: 200, headers: [] })
      await send({ type: 'http.response.body', body: Buffer.alloc(0) })
    })
    const short = await new HttpCommunicator(app, 'GET', '/short').getResponse()
    expect(textHeaders(short.headers)[0]![1]).toMatch(/Max-Age=60;/)
    const browser = await new HttpCommunicator(app, 'GET', '/browser').getResponse()
    expect(textHeaders(browser.headers)[0]![1]).not.toMatch(/Max-Age/)
  })
})

describe.each(['db', 'memory', 'file'] as const)('store-backed SESSION_ENGINE=%s', (engine) => {
  let restore: () => void
  let cleanup: () => void
  beforeEach(() => {
    const tmp = tempDir()
    cleanup = tmp.cleanup
    restore = useSettings(engineSettings(engine, tmp.dir))
  })
  afterEach(() => {
    restore()
    cleanup()
  })

  it('test_session_save_update_error', async () => {
    class DeletingApp extends AsyncConsumer {
      async http_request(): Promise<void> {
        const session = this.scope.session as Session
        await session.save()
        // Simulate its deletion elsewhere (e.g. a logout in a concurrent request).
        const other = await createSession(session.sessionKey)
        await other.flush()
        session.set('fav_color', 'blue')
        await this.send({ type: 'http.response.start', status: 200, headers: [] })
        await this.send({ type: 'http.response.body', body: Buffer.from(session.sessionKey!) })
      }
    }
    const communicator = new HttpCommunicator(
      SessionMiddlewareStack(DeletingApp.asAsgi()),
      'GET',
      '/first/',
    )
    await expect(communicator.getResponse()).rejects.toThrow(SuspiciousOperation)
    await expect(communicator.wait()).rejects.toThrow(
      "The request's session was deleted before the request completed. The user may have logged out in a concurrent request, for example.",
    )
  })

  it('an unknown cookie key gets a fresh key, never the client-chosen one (fixation)', async () => {
    const chosen = 'attackerchosenkey0000000000000000'
    const response = await new HttpCommunicator(SessionMiddlewareStack(countingApp()), 'GET', '/', {
      headers: [['cookie', `sessionid=${chosen}`]],
    }).getResponse()
    const issued = cookieFrom(response.headers, 'sessionid')
    expect(issued).toMatch(/^[a-z0-9]{32}$/)
    expect(issued).not.toBe(chosen)
  })

  it('cycleKey keeps the data under a new key and deletes the old one', async () => {
    const session = await createSession()
    session.set('a', 1)
    await session.save()
    const oldKey = session.sessionKey!
    await session.cycleKey()
    expect(session.sessionKey).not.toBe(oldKey)
    expect(session.get('a')).toBe(1)
    expect((await createSession(oldKey)).sessionKey).toBeNull()
    expect((await createSession(session.sessionKey)).get('a')).toBe(1)
  })

  it('expired sessions read as empty', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1), toFake: ['Date'] })
    try {
      const session = await createSession()
      session.set('a', 1)
      session.setExpiry(1000)
      await session.save()
      vi.setSystemTime(Date.UTC(2026, 0, 1, 0, 0, 2))
      const again = await createSession(session.sessionKey)
      expect(again.sessionKey).toBeNull()
      expect(again.isEmpty()).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('signed_cookies engine', () => {
  let restore: () => void
  beforeEach(() => {
    restore = useSettings({ SESSION_ENGINE: 'django.contrib.sessions.backends.signed_cookies' })
  })
  afterEach(() => restore())

  it('keeps the data in the cookie itself', async () => {
    const app = SessionMiddlewareStack(countingApp())
    const first = await new HttpCommunicator(app, 'GET', '/').getResponse()
    const cookie = cookieFrom(first.headers, 'sessionid')!
    expect(cookie.split(':')).toHaveLength(3)
    const second = await new HttpCommunicator(app, 'GET', '/', {
      headers: [['cookie', `sessionid=${cookie}`]],
    }).getResponse()
    expect(second.body.toString()).toBe('2')
  })

  it('a tampered cookie yields an empty session', async () => {
    const app = SessionMiddlewareStack(countingApp())
    const first = await new HttpCommunicator(app, 'GET', '/').getResponse()
    const cookie = cookieFrom(first.headers, 'sessionid')!
    const [payload, ts, sig] = cookie.split(':')
    const forged = Buffer.from('{"count":41}').toString('base64url')
    for (const bad of [
      `${forged}:${ts}:${sig}`,
      `${payload}:${ts}:x${sig}`,
      'garbage-cookie-value',
    ]) {
      const response = await new HttpCommunicator(app, 'GET', '/', {
        headers: [['cookie', `sessionid=${bad}`]],
      }).getResponse()
      expect(response.body.toString()).toBe('1')
    }
  })

  it('a cookie signed with another SECRET_KEY yields an empty session', async () => {
    const app = SessionMiddlewareStack(countingApp())
    const first = await new HttpCommunicator(app, 'GET', '/').getResponse()
    const cookie = cookieFrom(first.headers, 'sessionid')!
    await overrideSettings({ SECRET_KEY: 'another-key' }, async () => {
      const response = await new HttpCommunicator(app, 'GET', '/', {
        headers: [['cookie', `sessionid=${cookie}`]],
      }).getResponse()
      expect(response.body.toString()).toBe('1')
    })
  })
})

describe('SessionMiddleware wiring', () => {
  let restore: () => void
  beforeEach(() => {
    restore = useSettings({ SESSION_ENGINE: 'memory' })
  })
  afterEach(() => restore())

  it('needs CookieMiddleware above it', async () => {
    const communicator = new HttpCommunicator(new SessionMiddleware(countingApp()), 'GET', '/')
    await expect(communicator.getResponse()).rejects.toThrow(ValueError)
    await expect(communicator.wait()).rejects.toThrow(
      'No cookies in scope - SessionMiddleware needs to run inside of CookieMiddleware.',
    )
  })

  it('passes an existing session through and never saves it', async () => {
    let seen: unknown
    const inner = new SessionMiddleware(async (scope: Scope, _r: Receive, send: Send) => {
      seen = scope.session
      ;(scope.session as Session).set('x', 1)
      await send({ type: 'http.response.start', status: 200, headers: [] })
      await send({ type: 'http.response.body', body: Buffer.alloc(0) })
    })
    const outer = SessionMiddlewareStack(async (scope: Scope, receive: Receive, send: Send) => {
      outerSession = scope.session
      // Hide the outer middleware's send wrapper: only the inner one could save now.
      await inner(scope, receive, send)
    })
    let outerSession: unknown
    const response = await new HttpCommunicator(outer, 'GET', '/').getResponse()
    expect(seen).toBe(outerSession)
    // The outer middleware saved it (one cookie), the inner did not add a second.
    expect(textHeaders(response.headers)).toHaveLength(1)
  })

  it('WebSocket sessions are saved only explicitly', async () => {
    let key: string | null = null
    class SavingConsumer extends WebsocketConsumer {
      override connect(): void {
        void this.accept()
      }
      override async receive(text?: string): Promise<void> {
        const session = this.scope.session as Session
        session.set('said', text)
        if (text === 'save') {
          await session.save()
          key = session.sessionKey
        }
        void this.send({ textData: 'ok' })
      }
    }
    const communicator = new WebsocketCommunicator(
      SessionMiddlewareStack(SavingConsumer.asAsgi()),
      '/',
    )
    await communicator.connect()
    await communicator.sendTo({ textData: 'hello' })
    await communicator.receiveFrom()
    expect(key).toBeNull()
    await communicator.sendTo({ textData: 'save' })
    await communicator.receiveFrom()
    await communicator.disconnect()
    expect((await createSession(key)).get('said')).toBe('save')
  })

  it('an explicit engine option overrides SESSION_ENGINE', async () => {
    const app = new CookieMiddleware(
      new SessionMiddleware(countingApp(), { engine: 'signed_cookies' }),
    )
    const response = await new HttpCommunicator(app, 'GET', '/').getResponse()
    expect(cookieFrom(response.headers, 'sessionid')!.split(':')).toHaveLength(3)
  })

  it('an unknown engine is ImproperlyConfigured', async () => {
    await overrideSettings({ SESSION_ENGINE: 'redis-please' }, async () => {
      const communicator = new HttpCommunicator(SessionMiddlewareStack(countingApp()), 'GET', '/')
      await expect(communicator.getResponse()).rejects.toThrow(
        /Unknown SESSION_ENGINE "redis-please"/,
      )
    })
  })

  it('honours SESSION_COOKIE_NAME and SESSION_COOKIE_PATH', async () => {
    await overrideSettings(
      { SESSION_COOKIE_NAME: 'sid', SESSION_COOKIE_PATH: '/app/' },
      async () => {
        const app = SessionMiddlewareStack(countingApp())
        const first = await new HttpCommunicator(app, 'GET', '/').getResponse()
        expect(textHeaders(first.headers)[0]![1]).toMatch(/^sid=[a-z0-9]{32}; .*Path=\/app\//)
        const cookie = cookieFrom(first.headers, 'sid')!
        const second = await new HttpCommunicator(app, 'GET', '/', {
          headers: [['cookie', `sid=${cookie}`]],
        }).getResponse()
        expect(second.body.toString()).toBe('2')
      },
    )
  })
})

/** Counts requests in the session; `/peek` reads only, `/flush` flushes. */
function countingApp() {
  return async (scope: Scope, _receive: Receive, send: Send) => {
    const session = scope.session as Session
    if (scope.path === '/flush') await session.flush()
    else if (scope.path !== '/peek') session.set('count', session.get<number>('count', 0)! + 1)
    await send({ type: 'http.response.start', status: 200, headers: [] })
    await send({ type: 'http.response.body', body: Buffer.from(String(session.get('count', 0))) })
  }
}
