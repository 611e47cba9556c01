/**
 * Channels' authentication: `AuthMiddleware` puts the session's user in `scope.user`;
 * `login`/`logout`/`getUser` work on any scope holding a session. Session keys and semantics
 * are Django's (`_auth_user_id`, `_auth_user_backend`, `_auth_user_hash`).
 * @module
 */
import { ImproperlyConfigured, ValueError } from '../asgi/errors.js'
import { connectionNotes } from '../asgi/inspection.js'
import { ScopeCopier } from '../asgi/scope-copy.js'
import type { AnyApplication, Receive, Scope, Send } from '../asgi/types.js'
import {
  AnonymousUser,
  backendName,
  loadBackends,
  type AuthBackendEntry,
  type AuthUser,
  type ScopeUser,
} from './auth-user.js'
import { BaseMiddleware } from './base.js'
import { CookieMiddleware } from './cookies.js'
import { SessionMiddleware, type SessionMiddlewareOptions } from './sessions/middleware.js'
import type { Session } from './sessions/session.js'
import { Signal } from './signals.js'
import { constantTimeCompare } from './signing.js'

/** Session key of the logged-in user's id. */
export const SESSION_KEY = '_auth_user_id'
/** Session key of the backend that authenticated the user. */
export const BACKEND_SESSION_KEY = '_auth_user_backend'
/** Session key of the user's session auth hash. */
export const HASH_SESSION_KEY = '_auth_user_hash'

/** What the auth signals carry (Django's `sender`, `request`, `user`, plus the scope). */
export interface UserSignalPayload {
  sender: unknown
  request: null
  user: AuthUser
  scope: Record<string, unknown>
}

/** Sent by `login` once the user is in the session and the scope. */
export const userLoggedIn = new Signal<UserSignalPayload>('user_logged_in')
/** Sent by `logout` before the session is flushed, when someone was logged in. */
export const userLoggedOut = new Signal<UserSignalPayload>('user_logged_out')
/** Both auth signals. */
export const signals = { userLoggedIn, userLoggedOut } as const

type ScopeLike = Record<string, unknown>

/**
 * A scope after AuthMiddlewareStack: `(this.scope as AuthScope).user.username` in a consumer.
 */
export type AuthScope<S extends Scope = Scope> = S & {
  cookies: Record<string, string>
  session: Session
  user: ScopeUser
}

const NO_SESSION =
  'Cannot find session in scope. You should wrap your consumer in SessionMiddleware.'

function sessionOf(scope: ScopeLike, message = NO_SESSION): Session {
  if (!('session' in scope)) throw new ValueError(message)
  return scope.session as Session
}

/**
 * The user the scope's session is logged in as, or an AnonymousUser. A user whose session
 * auth hash no longer matches gets the session flushed.
 */
export async function getUser(scope: ScopeLike): Promise<ScopeUser> {
  return userOf(sessionOf(scope))
}

/** The session's user: an AnonymousUser at once when it names none, else the backend's. */
function userOf(session: Session): ScopeUser | Promise<ScopeUser> {
  const userId = session.get(SESSION_KEY)
  const backendPath = session.get(BACKEND_SESSION_KEY)
  if (userId === undefined || backendPath === undefined) return new AnonymousUser()
  return userFromBackend(session, userId, backendPath)
}

async function userFromBackend(
  session: Session,
  userId: unknown,
  backendPath: unknown,
): Promise<ScopeUser> {
  const loaded = loadBackends().find((b) => b.name === backendPath)
  if (loaded === undefined) return new AnonymousUser()
  let user = (await loaded.backend.getUser(String(userId))) ?? null
  if (user !== null && typeof user.getSessionAuthHash === 'function') {
    const stored = session.get(HASH_SESSION_KEY)
    const verified =
      typeof stored === 'string' &&
      stored !== '' &&
      (typeof user.verifySessionAuthHash === 'function'
        ? user.verifySessionAuthHash(stored)
        : constantTimeCompare(stored, user.getSessionAuthHash()))
    if (!verified) {
      await session.flush()
      user = null
    }
  }
  return user ?? new AnonymousUser()
}

/**
 * Log `user` (default: `scope.user`) into the scope's session and set `scope.user`. Flushes a
 * session belonging to someone else, cycles the key of an anonymous one. Does NOT save the
 * session: HTTP responses save it; WebSocket consumers must `await scope.session.save()`.
 */
export async function login(
  scope: ScopeLike,
  user?: AuthUser | null,
  options: { backend?: AuthBackendEntry } = {},
): Promise<void> {
  const session = sessionOf(scope)
  const target = (user ?? scope.user ?? null) as AuthUser | null
  if (target === null) {
    throw new ValueError('User must be passed as an argument or must be present in the scope.')
  }
  // Not in Channels (Django fails later on the missing pk): refuse to store "null" as an id.
  // Read as unknown: JavaScript callers may pass a user without one.
  const id: unknown = target.id
  if (target instanceof AnonymousUser || id === null || id === undefined) {
    throw new ValueError('Cannot log in an anonymous user.')
  }
  const authHash =
    typeof target.getSessionAuthHash === 'function' ? target.getSessionAuthHash() : ''
  if (session.has(SESSION_KEY)) {
    const other = session.get(SESSION_KEY) !== String(target.id)
    const stale =
      authHash !== '' && !constantTimeCompare(String(session.get(HASH_SESSION_KEY, '')), authHash)
    // Never reuse another user's session.
    if (other || stale) await session.flush()
  } else {
    await session.cycleKey()
  }
  session.set(SESSION_KEY, String(target.id))
  session.set(BACKEND_SESSION_KEY, resolveBackendName(options.backend, target))
  session.set(HASH_SESSION_KEY, authHash)
  scope.user = target
  noteUser(scope, target)
  await target.recordLogin?.()
  userLoggedIn.send({ sender: target.constructor, request: null, user: target, scope })
}

function resolveBackendName(backend: AuthBackendEntry | undefined, user: AuthUser): string {
  if (backend !== undefined) return backendName(backend)
  if (user.backend) return user.backend
  const backends = loadBackends()
  if (backends.length === 0) {
    throw new ImproperlyConfigured(
      'No authentication backends have been defined. Does AUTHENTICATION_BACKENDS contain anything?',
    )
  }
  if (backends.length === 1) return backends[0]!.name
  throw new ValueError(
    'You have multiple authentication backends configured and therefore must provide the ' +
      '`backend` argument or set the `backend` attribute on the user.',
  )
}

/**
 * Flush the scope's session and, if `scope.user` exists, replace it with an AnonymousUser.
 * Sends `userLoggedOut` first when an authenticated user was there.
 */
export async function logout(scope: ScopeLike): Promise<void> {
  // Channels' message says "Login" here; kept as is.
  const session = sessionOf(
    scope,
    'Login cannot find session in scope. You should wrap your consumer in SessionMiddleware.',
  )
  let user = (scope.user ?? null) as AuthUser | null
  if (user !== null && user.isAuthenticated === false) user = null
  if (user !== null) userLoggedOut.send({ sender: user.constructor, request: null, user, scope })
  await session.flush()
  if ('user' in scope) scope.user = new AnonymousUser()
  noteUser(scope, null)
}

/**
 * Tell an inspecting server (the dashboard) whose connection this is: middleware passes copies
 * of the scope on, so the server sees the user only through the notes record the copies share.
 */
function noteUser(scope: ScopeLike, user: ScopeUser | null): void {
  const notes = connectionNotes(scope)
  if (notes === undefined) return
  if (user === null || user.isAuthenticated === false) notes.user = null
  else notes.user = user.username || String(user.id)
}

const placeholders = new WeakSet<object>()

const PLACEHOLDER_HANDLER: ProxyHandler<object> = {
  get(_target, prop) {
    // Symbols (inspection, `await` probing `then`) are allowed: they read as absent.
    if (typeof prop === 'symbol' || prop === 'then') return undefined
    throw new ValueError('Accessing scope user before it is ready.')
  },
}

/** The stand-in `scope.user` holds until it is resolved; touching it throws. */
export function createUserPlaceholder(): object {
  const placeholder = new Proxy(Object.create(null) as object, PLACEHOLDER_HANDLER)
  placeholders.add(placeholder)
  return placeholder
}

// The placeholder has no state, so AuthMiddleware shares one between connections.
const SHARED_PLACEHOLDER = createUserPlaceholder()

/** The scope copy AuthMiddleware passes down (asgi/scope-copy.ts). */
const SCOPE = new ScopeCopier([])

/**
 * Puts the session's user in `scope.user`, resolved once per connection before the inner app
 * runs (a logout elsewhere is not noticed; call `getUser(scope)` again to re-check).
 * Requires SessionMiddleware above it; a `user` already in the scope is kept.
 */
export class AuthMiddleware extends BaseMiddleware {
  /** Checks for the session and puts the placeholder user in place. */
  populateScope(scope: ScopeLike): void {
    if (!('session' in scope)) {
      throw new ValueError(
        'AuthMiddleware cannot find session in scope. SessionMiddleware must be above it.',
      )
    }
    if (!('user' in scope)) scope.user = SHARED_PLACEHOLDER
  }

  /**
   * Replaces the placeholder with the real user. Returns undefined when that is done already
   * (no placeholder, or a session naming no user: an AnonymousUser), a promise when a backend
   * is asked. Overrides may be async.
   */
  resolveScope(scope: ScopeLike): Promise<void> | undefined {
    const current = scope.user
    if (typeof current !== 'object' || current === null || !placeholders.has(current)) return
    const user = userOf(sessionOf(scope))
    if (!(user instanceof Promise)) {
      scope.user = user
      noteUser(scope, user)
      return
    }
    return user.then((resolved) => {
      scope.user = resolved
      noteUser(scope, resolved)
    })
  }

  // Not async: an anonymous connection is resolved synchronously and the inner app's promise is
  // returned as is, with no frame kept per connection.
  override asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    let copy: ScopeLike
    let pending: Promise<void> | undefined
    try {
      copy = SCOPE.copy(scope)
      this.populateScope(copy)
      pending = this.resolveScope(copy)
      if (pending === undefined) return this.inner(copy, receive, send)
    } catch (error) {
      return Promise.reject(error)
    }
    return pending.then(() => this.inner(copy, receive, send))
  }
}

/**
 * `CookieMiddleware(SessionMiddleware(AuthMiddleware(inner)))`: cookie sessions plus users, as
 * Channels' `AuthMiddlewareStack`.
 */
export function AuthMiddlewareStack(
  inner: AnyApplication,
  options: SessionMiddlewareOptions = {},
): CookieMiddleware {
  return new CookieMiddleware(new SessionMiddleware(new AuthMiddleware(inner), options))
}
