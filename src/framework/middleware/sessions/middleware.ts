/**
 * Channels' `SessionMiddleware`: puts a loaded {@link Session} in `scope.session` and saves it
 * when an HTTP response starts.
 * @module
 */
import { ValueError } from '../../asgi/errors.js'
import type { AnyApplication, Receive, Scope, Send } from '../../asgi/types.js'
import { getSettings } from '../../settings/index.js'
import { BaseMiddleware } from '../base.js'
import { ScopeCopier } from '../../asgi/scope-copy.js'
import { CookieMiddleware, deleteCookie, type MessageWithHeaders } from '../cookies.js'
import { sessionFactory, type SessionEngine } from './engine.js'
import { SuspiciousOperation, UpdateError } from './errors.js'
import type { Session } from './session.js'

/** Options of {@link SessionMiddleware}. */
export interface SessionMiddlewareOptions {
  /** Overrides SESSION_ENGINE for this middleware (a name or a SessionStore). */
  engine?: SessionEngine
}

/** The scope copies passed down (asgi/scope-copy.ts). */
const SCOPE = new ScopeCopier([])
const SESSION_SCOPE = new ScopeCopier(['session'])

/**
 * Loads the session named by the SESSION_COOKIE_NAME cookie into `scope.session` (a new empty
 * one without a valid cookie). For HTTP, a modified session (or any, with
 * SESSION_SAVE_EVERY_REQUEST) is saved on a non-500 `http.response.start`, which also sets or
 * deletes the cookie. WebSocket sessions are saved only by calling `session.save()`: there is no
 * response to carry a cookie. Must run inside CookieMiddleware; a `session` already in the scope
 * (from an outer SessionMiddleware) passes through untouched.
 */
export class SessionMiddleware extends BaseMiddleware {
  declare readonly options: SessionMiddlewareOptions

  constructor(inner: AnyApplication, options: SessionMiddlewareOptions = {}) {
    super(inner)
    Object.defineProperty(this, 'options', { value: options })
  }

  // Not async: without a session cookie (or with one for an engine that loads synchronously)
  // the inner app's promise is returned as is, with no frame kept per connection.
  override asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    let session: Session
    let cookies: Record<string, string>
    try {
      if ('session' in scope) return this.inner(SCOPE.copy(scope), receive, send)
      const found = scope.cookies as Record<string, string> | undefined
      if (found === undefined) {
        throw new ValueError(
          'No cookies in scope - SessionMiddleware needs to run inside of CookieMiddleware.',
        )
      }
      cookies = found
      const settings = getSettings()
      // Read per connection, like Channels, so overrideSettings applies to the next connection.
      session = sessionFactory(this.options.engine)(cookies[settings.SESSION_COOKIE_NAME] ?? null)
      // A session made without a key is loaded already (empty; no storage involved).
      if (session.loaded) return this.#enter(scope, session, cookies, receive, send)
    } catch (error) {
      return Promise.reject(error)
    }
    return session.load().then(() => this.#enter(scope, session, cookies, receive, send))
  }

  #enter(
    scope: Scope,
    session: Session,
    cookies: Record<string, string>,
    receive: Receive,
    send: Send,
  ): Promise<void> {
    // Only an HTTP response can carry the cookie; WebSocket sends go straight through.
    const sessionSend: Send =
      scope.type === 'websocket'
        ? send
        : async (message) => {
            if (message.type === 'http.response.start')
              await saveOnResponse(session, message, cookies)
            return send(message)
          }
    const copy = SESSION_SCOPE.copy(scope, session) as Scope
    return this.inner(copy, receive, sessionSend)
  }
}

async function saveOnResponse(
  session: Session,
  message: MessageWithHeaders & { status?: number },
  cookies: Record<string, string>,
): Promise<void> {
  const settings = getSettings()
  const modified = session.modified
  const empty = session.isEmpty()
  if ((message.status ?? 200) === 500 || !(modified || settings.SESSION_SAVE_EVERY_REQUEST)) return
  // Saved even when empty, like Channels: the cookie-delete below may not reach the client.
  try {
    await session.save()
  } catch (err) {
    if (err instanceof UpdateError) {
      throw new SuspiciousOperation(
        "The request's session was deleted before the request completed. " +
          'The user may have logged out in a concurrent request, for example.',
        { cause: err },
      )
    }
    throw err
  }
  const name = settings.SESSION_COOKIE_NAME
  if (empty) {
    if (name in cookies) {
      deleteCookie(message, name, {
        path: settings.SESSION_COOKIE_PATH,
        domain: settings.SESSION_COOKIE_DOMAIN ?? null,
      })
    }
    return
  }
  const browserSession = session.getExpireAtBrowserClose()
  const maxAge = browserSession ? null : Math.floor(session.getExpiryAge() / 1000)
  CookieMiddleware.setCookie(message, name, session.sessionKey ?? '', {
    maxAge: maxAge === null ? null : maxAge * 1000,
    expires: maxAge === null ? null : new Date(Date.now() + maxAge * 1000).toUTCString(),
    domain: settings.SESSION_COOKIE_DOMAIN ?? null,
    path: settings.SESSION_COOKIE_PATH,
    secure: settings.SESSION_COOKIE_SECURE,
    httponly: settings.SESSION_COOKIE_HTTPONLY,
    samesite: settings.SESSION_COOKIE_SAMESITE || null,
  })
}

/** `CookieMiddleware(SessionMiddleware(inner))`: what a session-using app is wrapped in. */
export function SessionMiddlewareStack(
  inner: AnyApplication,
  options: SessionMiddlewareOptions = {},
): CookieMiddleware {
  return new CookieMiddleware(new SessionMiddleware(inner, options))
}
