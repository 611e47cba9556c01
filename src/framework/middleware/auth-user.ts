/**
 * Users and authentication backends. The framework has no user model: the project supplies
 * backends that look users up by id (`getUser`), configured in AUTHENTICATION_BACKENDS.
 * @module
 */
import { ImproperlyConfigured } from '../asgi/errors.js'
import { getSettings } from '../settings/index.js'

/** What `login` needs from a user object. */
export interface AuthUser {
  /** Primary key; stored in the session as a string. */
  id: string | number
  username?: string
  /** Treated as true when absent (only AnonymousUser says false). */
  isAuthenticated?: boolean
  isAnonymous?: boolean
  /** The name of the backend that authenticated this user (used by `login`). */
  backend?: string
  /**
   * A hash of credentials (e.g. of the password hash): when it changes, sessions made with the
   * old one stop authenticating (Django's `get_session_auth_hash`).
   */
  getSessionAuthHash?(): string
}

/**
 * The user of a connection that is not logged in (Django's `AnonymousUser`). Its fields live on
 * the prototype (enumerable, writable: assigning shadows them on that one instance), so the one
 * every anonymous connection keeps in `scope.user` is an empty object.
 */
export class AnonymousUser {
  declare readonly id: null
  declare readonly username: ''
  declare readonly isAuthenticated: false
  declare readonly isAnonymous: true
  declare readonly isStaff: false
  declare readonly isSuperuser: false
  declare readonly isActive: false

  toString(): string {
    return 'AnonymousUser'
  }
}

for (const [key, value] of Object.entries({
  id: null,
  username: '',
  isAuthenticated: false,
  isAnonymous: true,
  isStaff: false,
  isSuperuser: false,
  isActive: false,
})) {
  Object.defineProperty(AnonymousUser.prototype, key, { value, enumerable: true, writable: true })
}

/** `scope.user` after AuthMiddleware ran. */
export type ScopeUser = AuthUser | AnonymousUser

/**
 * Looks users up by the id stored in the session. Implement this for your user storage and list
 * the object (or class, instantiated once) in AUTHENTICATION_BACKENDS.
 */
export interface AuthBackend<U extends AuthUser = AuthUser> {
  /** The user with this id (the session's string form of `user.id`), or null. */
  getUser(userId: string): Promise<U | null> | U | null
  /** Stored in the session; defaults to the class name. Must be unique among the backends. */
  name?: string
}

/** An AUTHENTICATION_BACKENDS entry: a backend, a backend class, or a registered name. */
export type AuthBackendEntry = AuthBackend | (new () => AuthBackend) | string

/** A configured backend and the name that identifies it in sessions. */
export interface LoadedBackend {
  name: string
  backend: AuthBackend
}

const registered = new Map<string, AuthBackend>()
const instances = new WeakMap<object, AuthBackend>()

/**
 * Make a backend available under `name`, so AUTHENTICATION_BACKENDS can list it as a string
 * (the closest thing to Django's dotted paths).
 */
export function registerAuthBackend(name: string, backend: AuthBackend): void {
  registered.set(name, backend)
}

/** The name a backend entry is stored under in sessions. */
export function backendName(entry: AuthBackendEntry, index = 0): string {
  if (typeof entry === 'string') return entry
  if (typeof entry === 'function') return entry.name
  if (typeof entry.name === 'string' && entry.name !== '') return entry.name
  // A null-prototype object has no constructor.
  const ctor = (entry as { constructor?: unknown }).constructor
  if (typeof ctor === 'function' && ctor !== Object && ctor.name) return ctor.name
  throw new ImproperlyConfigured(
    `AUTHENTICATION_BACKENDS[${index}] is a plain object without a 'name': give it one.`,
  )
}

/** The configured backends, in order (Django's `_get_backends`). */
export function loadBackends(): LoadedBackend[] {
  const entries = getSettings().AUTHENTICATION_BACKENDS ?? []
  return entries.map((entry, index) => {
    const name = backendName(entry as AuthBackendEntry, index)
    return { name, backend: instantiate(entry, name, index) }
  })
}

function instantiate(entry: unknown, name: string, index: number): AuthBackend {
  if (typeof entry === 'string') {
    const backend = registered.get(entry)
    if (backend === undefined) {
      throw new ImproperlyConfigured(
        `AUTHENTICATION_BACKENDS[${index}] names ${JSON.stringify(name)}, which is not registered ` +
          '(call registerAuthBackend(name, backend) or list the backend object itself).',
      )
    }
    return backend
  }
  if (typeof entry === 'function') {
    let backend = instances.get(entry)
    if (backend === undefined) {
      backend = new (entry as new () => AuthBackend)()
      instances.set(entry, backend)
    }
    return backend
  }
  if (
    entry !== null &&
    typeof entry === 'object' &&
    typeof (entry as AuthBackend).getUser === 'function'
  ) {
    return entry as AuthBackend
  }
  throw new ImproperlyConfigured(
    `AUTHENTICATION_BACKENDS[${index}] must be a backend object with getUser(id), a backend ` +
      'class, or a registered name.',
  )
}
