/**
 * Users and authentication backends. The framework has no user model: the project supplies
 * backends that look users up by id (`getUser`), configured in AUTHENTICATION_BACKENDS; next to a
 * Django site, Django's own `'django.contrib.auth.backends.ModelBackend'` (the default when
 * DATABASES is set) reads Django's user table.
 * @module
 */
import { ImproperlyConfigured } from '../asgi/errors.js'
import { getSettings } from '../settings/index.js'
import type { AuthBackend, AuthUser } from './auth-types.js'
import { DjangoModelBackend, MODEL_BACKEND } from './django/model-backend.js'

export type { AuthBackend, AuthUser } from './auth-types.js'

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
  const settings = getSettings()
  const entries =
    settings.AUTHENTICATION_BACKENDS ?? (settings.DATABASES === undefined ? [] : [MODEL_BACKEND])
  return entries.map((entry, index) => {
    const name = backendName(entry as AuthBackendEntry, index)
    return { name, backend: instantiate(entry, name, index) }
  })
}

// Django's ModelBackend by its dotted name, made once per settings object (its table comes from
// AUTH_USER_MODEL).
let shared: { settings: object; backend: DjangoModelBackend } | undefined

function modelBackend(): DjangoModelBackend {
  const settings = getSettings()
  if (shared?.settings !== settings) shared = { settings, backend: new DjangoModelBackend() }
  return shared.backend
}

function instantiate(entry: unknown, name: string, index: number): AuthBackend {
  if (typeof entry === 'string') {
    const backend = registered.get(entry) ?? (entry === MODEL_BACKEND ? modelBackend() : undefined)
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
